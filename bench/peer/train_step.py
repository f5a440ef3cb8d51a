#!/usr/bin/env python3
"""The PyTorch eager side of bench/train-step.bench.ts (dev-only: Debian's python3-torch).

Same nets, same A-Softmax head (m = 4, lambda 5) composed from torch ops, same SGD settings
(momentum 0.9, weight decay 5e-4 on weights only), same uint8 NHWC input prepared in the step.
Prints one JSON line. Usage: train_step.py ARCH BATCH CLASSES STEPS
"""
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SphereCnn4(nn.Module):
    def __init__(self):
        super().__init__()
        ch = [3, 32, 128, 256, 512]
        self.convs = nn.ModuleList(nn.Conv2d(ch[i], ch[i + 1], 3, stride=2) for i in range(4))
        self.fc = nn.Linear(512 * 5 * 5, 512)

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x), inplace=True)
        return self.fc(x.flatten(1))


class Unit(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.prelu1 = nn.PReLU(c, 0.25)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.prelu2 = nn.PReLU(c, 0.25)

    def forward(self, x):
        return x + self.prelu2(self.conv2(self.prelu1(self.conv1(x))))


class SphereNet(nn.Module):
    def __init__(self, units):
        super().__init__()
        ch = [3, 64, 128, 256, 512]
        layers = []
        for s in range(4):
            layers += [nn.Conv2d(ch[s], ch[s + 1], 3, stride=2, padding=1), nn.PReLU(ch[s + 1], 0.25)]
            layers += [Unit(ch[s + 1]) for _ in range(units[s])]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(512 * 7 * 6, 512)

    def forward(self, x):
        return self.fc(self.body(x).flatten(1))


UNITS = {'sphere4': (0, 0, 0, 0), 'sphere10': (0, 1, 2, 0), 'sphere20': (1, 2, 4, 1),
         'sphere36': (2, 4, 8, 2), 'sphere64': (3, 8, 16, 3)}


def a_softmax_loss(x, weight, labels, m=4, lam=5.0):
    """SphereFace A-Softmax written with eager ops (what a PyTorch user writes)."""
    w = F.normalize(weight, dim=1)
    norm = x.norm(dim=1, keepdim=True).clamp_min(1e-12)
    cos = (x @ w.t()) / norm
    cos_y = cos.gather(1, labels[:, None]).clamp(-1, 1)
    theta = torch.acos(cos_y.clamp(-1 + 1e-7, 1 - 1e-7))
    k = torch.floor(theta * m / math.pi).detach()
    # cos(m t) by Chebyshev for m = 4: 8c^4 - 8c^2 + 1
    cos_m = 8 * cos_y ** 4 - 8 * cos_y ** 2 + 1
    psi = (1 - 2 * torch.remainder(k, 2)) * cos_m - 2 * k
    target = norm * (lam * cos_y + psi) / (1 + lam)
    logits = (norm * cos).scatter(1, labels[:, None], target)
    return F.cross_entropy(logits, labels)


def gemm_gflops():
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(10):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * 1024 ** 3 / sorted(times)[len(times) // 2] / 1e9


def main():
    arch, batch, classes, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))
    torch.set_flush_denormal(True)
    torch.manual_seed(1)
    net = SphereCnn4() if arch == 'sphere-cnn4' else SphereNet(UNITS[arch])
    height, width = (96, 96) if arch == 'sphere-cnn4' else (112, 96)
    head = nn.Parameter(torch.empty(classes, 512).uniform_(-math.sqrt(3 / 512), math.sqrt(3 / 512)))
    decay = [p for p in net.parameters() if p.dim() > 1] + [head]
    no_decay = [p for p in net.parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 5e-4},
                           {'params': no_decay, 'weight_decay': 0}], lr=0.01, momentum=0.9)
    images = torch.randint(0, 256, (batch, height, width, 3), dtype=torch.uint8)
    labels = torch.randint(0, classes, (batch,))
    flip = torch.randint(0, 2, (batch,), dtype=torch.bool)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times, phases = [], {'prepare': [], 'forward': [], 'loss': [], 'backward': [], 'optimiser': []}
    for i in range(steps + 2):
        if i == 2:
            faults_at_start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        x = (images.permute(0, 3, 1, 2).float() - 127.5) / 128
        x = torch.where(flip[:, None, None, None], x.flip(3), x).contiguous()
        t1 = time.perf_counter()
        features = net(x)
        t2 = time.perf_counter()
        detached = features.detach().requires_grad_(True)
        opt.zero_grad(set_to_none=True)
        loss = a_softmax_loss(detached, head, labels)
        loss.backward()
        loss.item()
        t3 = time.perf_counter()
        features.backward(detached.grad)
        t4 = time.perf_counter()
        opt.step()
        t5 = time.perf_counter()
        if i < 2:
            continue
        times.append((t5 - t0) * 1000)
        for key, value in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            phases[key].append(value * 1000)
    med = lambda v: sorted(v)[len(v) // 2] if len(v) % 2 else sum(sorted(v)[len(v) // 2 - 1:len(v) // 2 + 1]) / 2
    step_ms = med(times)
    print(json.dumps({
        'side': 'pytorch', 'arch': arch, 'batch': batch, 'classes': classes,
        'torch': torch.__version__, 'stepMs': step_ms, 'imagesPerSecond': batch * 1000 / step_ms,
        'phases': {k: med(v) for k, v in phases.items()},
        'rssBeforeMb': rss_before, 'peakRssMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'faultsPerStep': (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_at_start) / steps,
        'gemmGflops': gemm_gflops(),
    }))


if __name__ == '__main__':
    main()
