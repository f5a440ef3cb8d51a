#!/usr/bin/env python3
"""PyTorch's own DistributedDataParallel: the peer of bench/distributed.bench.ts (dev-only:
Debian's python3-torch).

bench/peer/train_step.py's sphere-cnn4 and A-Softmax head (m = 4, lambda 5) and SGD, one thread
per process. Under torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) each rank
trains on its part of every BATCH-image batch inside DDP (Gloo on loopback, DDP's buckets, the
all-reduce overlapping the backward); without them, one process trains on the whole batch.
Rank 0 prints one JSON line: the median step, images/s of the whole batch, and with several
ranks the median time of one all-reduce of all the gradients' bytes alone.
Usage: ddp_step.py BATCH CLASSES STEPS
"""
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import SphereCnn4, a_softmax_loss  # noqa: E402


class Whole(nn.Module):
    """The net and the head's weight in one module, so that DDP reduces both."""

    def __init__(self, classes):
        super().__init__()
        self.net = SphereCnn4()
        bound = math.sqrt(3 / 512)
        self.head = nn.Parameter(torch.empty(classes, 512).uniform_(-bound, bound))

    def forward(self, x, labels):
        return a_softmax_loss(self.net(x), self.head, labels)


def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main():
    batch, classes, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(1)
    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    if world > 1:
        dist.init_process_group('gloo', rank=rank, world_size=world)
    whole = Whole(classes)
    model = nn.parallel.DistributedDataParallel(whole) if world > 1 else whole
    params = list(whole.parameters())
    decay = [p for p in params if p.dim() > 1]
    no_decay = [p for p in params if p.dim() <= 1]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 5e-4},
                           {'params': no_decay, 'weight_decay': 0}], lr=0.01, momentum=0.9)
    share = batch // world
    images = torch.randint(0, 256, (share, 96, 96, 3), dtype=torch.uint8)
    labels = torch.randint(0, classes, (share,))
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        x = ((images.permute(0, 3, 1, 2).float() - 127.5) / 128).contiguous()
        opt.zero_grad(set_to_none=True)
        loss = model(x, labels)
        loss.backward()
        loss.item()
        opt.step()
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1000)
    allreduce_ms = None
    if world > 1:
        flat = torch.zeros(sum(p.numel() for p in params))
        reduce_times = []
        for _ in range(7):
            dist.barrier()
            t = time.perf_counter()
            dist.all_reduce(flat)
            reduce_times.append((time.perf_counter() - t) * 1000)
        allreduce_ms = median(reduce_times[2:])
    step_ms = median(times)
    if rank == 0:
        print(json.dumps({
            'side': 'pytorch-ddp', 'torch': torch.__version__, 'processes': world,
            'stepMs': step_ms, 'imagesPerSecond': share * world * 1000 / step_ms,
            'parameters': sum(p.numel() for p in params), 'allreduceMs': allreduce_ms,
        }))
    if world > 1:
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
