#!/usr/bin/env python3
"""Peer for `npm run bench -- data`: torchvision ImageFolder + transforms + DataLoader epochs.

Usage: torchvision_epoch.py ROOT EPOCHS BATCH WORKERS. Prints one JSON line with the seconds of
each epoch. Dev-only (Debian's python3-torchvision and python3-pil); never used at run time.
"""
import json
import resource
import sys
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


def main():
    root, epochs, batch, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.manual_seed(0)
    # The same work as ours: decode, Resize(96) (PIL bilinear, antialiased), random flip,
    # conversion to normalised float, batches.
    tf = transforms.Compose([
        transforms.Resize(96),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ])
    ds = datasets.ImageFolder(root, transform=tf)
    loader = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, drop_last=False)
    seconds = []
    cpu = []
    images = 0

    def cpu_now():
        # This process plus its finished children: the DataLoader's workers end with each epoch.
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    for _ in range(epochs):
        start = time.perf_counter()
        cpu_start = cpu_now()
        images = 0
        it = iter(loader)
        for x, y in it:
            images += x.shape[0]
        del it  # shuts the workers down, so their CPU time is counted
        seconds.append(time.perf_counter() - start)
        cpu.append(cpu_now() - cpu_start)
    print(json.dumps({"images": images, "seconds": seconds, "cpu": cpu, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
