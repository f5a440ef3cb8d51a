#!/usr/bin/env python3
"""The PyTorch side of bench/embed.bench.ts (dev-only: Debian's python3-torch).

The nets of train_step.py in eval mode under torch.inference_mode(), fed the same uint8 NHWC
batch that model.embed takes, normalised the same way. Prints one JSON line.
Usage: embed.py ARCH BATCH CALLS
"""
import json
import os
import resource
import sys
import time

import torch

from train_step import UNITS, SphereCnn4, SphereNet


def main():
    arch, batch, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))
    torch.set_flush_denormal(True)
    torch.manual_seed(1)
    net = (SphereCnn4() if arch == 'sphere-cnn4' else SphereNet(UNITS[arch])).eval()
    height, width = (96, 96) if arch == 'sphere-cnn4' else (112, 96)
    images = torch.randint(0, 256, (batch, height, width, 3), dtype=torch.uint8)
    times = []
    with torch.inference_mode():
        for i in range(calls + 2):
            if i == 2:
                faults_at_start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            started = time.perf_counter()
            x = ((images.permute(0, 3, 1, 2).float() - 127.5) / 128).contiguous()
            net(x)
            if i >= 2:  # warm-up: first-touch allocations, oneDNN primitive creation
                times.append((time.perf_counter() - started) * 1000)
    faults_per_call = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_at_start) / calls
    times.sort()
    call_ms = times[len(times) // 2]
    print(json.dumps({'side': 'pytorch', 'torch': torch.__version__, 'callMs': call_ms,
                      'imagesPerSecond': batch * 1000 / call_ms, 'faultsPerCall': faults_per_call}))


if __name__ == '__main__':
    main()
