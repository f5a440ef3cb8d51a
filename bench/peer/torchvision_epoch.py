#!/usr/bin/env python3
"""Peer for `npm run bench -- data`: torchvision ImageFolder + transforms + DataLoader epochs.

Usage: torchvision_epoch.py ROOT EPOCHS BATCH WORKERS. Prints one JSON line with the seconds of
each epoch. Dev-only (Debian's python3-torchvision and python3-pil); never used at run time.
"""
import json
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
    images = 0
    for _ in range(epochs):
        start = time.perf_counter()
        images = 0
        for x, y in loader:
            images += x.shape[0]
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"images": images, "seconds": seconds, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
