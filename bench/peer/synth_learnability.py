#!/usr/bin/env python3
"""How learnable a `sphereface synth` set is: sphere-cnn4 trained in PyTorch on its train/ folder.

Usage: synth_learnability.py DIR [--steps 1440] [--batch 32] [--head sphere|softmax] [--threads 2]
DIR is a `sphereface synth` output (train/, lfw/, pairs.txt). Trains the seed's 4-layer net
(96x96 input, 3x3 stride-2 convs without padding 3->32->128->256->512, ReLU, fc 512*5*5 -> 512)
with an A-Softmax head (m = 4, lambda = max(5, 1000 / (1 + 0.12 it))) or a plain softmax, SGD lr
0.1 (divided by 10 at 70% and 90% of the steps), momentum 0.9, weight decay 5e-4, random flips;
then scores the held-out pairs by the 10-fold LFW protocol (cosine of image + mirror features
concatenated, best training-fold threshold) and does the same for raw pixels ((p - 127.5) / 128).
Images are resized as torchvision's Resize(96) does (PIL bilinear). Dev-only (Debian's
python3-torch and python3-pil); prints one line per evaluation.
"""
import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


def load(paths):
    out = np.zeros((len(paths), 96, 96, 3), np.uint8)
    for k, p in enumerate(paths):
        out[k] = np.asarray(Image.open(p).convert('RGB').resize((96, 96), Image.BILINEAR))
    return out


def read_pairs(root):
    lines = open(os.path.join(root, 'pairs.txt')).read().split('\n')
    folds, per = map(int, lines[0].split())
    name = lambda n, i: f'{n}/{n}_{int(i):04d}.jpg'
    pairs = []
    for line in lines[1:1 + 2 * folds * per]:
        t = line.split()
        pairs.append((name(t[0], t[1]), name(t[0], t[2]), 1) if len(t) == 3
                     else (name(t[0], t[1]), name(t[2], t[3]), 0))
    return folds, per, pairs


def ten_fold(sims, same, fold_of, folds):
    accs = []
    for f in range(folds):
        train, test = fold_of != f, fold_of == f
        s = np.sort(sims[train])
        candidates = np.concatenate([[s[0] - 1e-6], (s[1:] + s[:-1]) / 2, [s[-1] + 1e-6]])
        best = max(candidates, key=lambda t: np.mean((sims[train] > t) == same[train]))
        accs.append(np.mean((sims[test] > best) == same[test]))
    return float(np.mean(accs)), float(np.std(accs))


class SphereCnn4(nn.Module):
    def __init__(self):
        super().__init__()
        widths = [(3, 32), (32, 128), (128, 256), (256, 512)]
        self.convs = nn.ModuleList([nn.Conv2d(i, o, 3, 2) for i, o in widths])
        self.fc = nn.Linear(512 * 5 * 5, 512)

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
        return self.fc(x.flatten(1))


class ASoftmax(nn.Module):
    def __init__(self, classes, m=4):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(classes, 512) * 0.01)
        self.m, self.it = m, 0

    def forward(self, x, y):
        lam = max(5.0, 1000.0 / (1 + 0.12 * self.it))
        self.it += 1
        norm = x.norm(dim=1, keepdim=True)
        cos = (x @ F.normalize(self.weight, dim=1).t() / norm.clamp_min(1e-12)).clamp(-1, 1)
        ct = cos.gather(1, y[:, None])
        theta = torch.acos(ct.clamp(-1 + 1e-7, 1 - 1e-7))
        k = torch.floor(theta * self.m / math.pi)
        psi = (-1) ** k * torch.cos(self.m * theta) - 2 * k
        logits = cos.scatter(1, y[:, None], (lam * ct + psi) / (1 + lam)) * norm
        return F.cross_entropy(logits, y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('root')
    ap.add_argument('--steps', type=int, default=1440)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--head', default='sphere', choices=['sphere', 'softmax'])
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--eval-every', type=int, default=480)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    folds, per, pairs = read_pairs(a.root)
    unique = sorted({p[0] for p in pairs} | {p[1] for p in pairs})
    index = {p: k for k, p in enumerate(unique)}
    test = load([os.path.join(a.root, 'lfw', p) for p in unique])
    pa = np.array([index[p[0]] for p in pairs])
    pb = np.array([index[p[1]] for p in pairs])
    same = np.array([p[2] for p in pairs]).astype(bool)
    fold_of = np.arange(len(pairs)) // (2 * per)

    def cosines(features):
        features = features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-12)
        return np.sum(features[pa] * features[pb], axis=1)

    flat = lambda x: (x.reshape(len(x), -1).astype(np.float64) - 127.5) / 128
    raw = np.concatenate([flat(test), flat(test[:, :, ::-1, :])], 1)
    print('raw pixels (image + mirror): %.4f +- %.4f' % ten_fold(cosines(raw), same, fold_of, folds),
          flush=True)

    classes = sorted(os.listdir(os.path.join(a.root, 'train')))
    paths, labels = [], []
    for c, name in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(a.root, 'train', name))):
            paths.append(os.path.join(a.root, 'train', name, f))
            labels.append(c)
    train = torch.from_numpy(load(paths)).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor(labels)

    net = SphereCnn4()
    head = ASoftmax(len(classes)) if a.head == 'sphere' else nn.Linear(512, len(classes))
    opt = torch.optim.SGD(list(net.parameters()) + list(head.parameters()), lr=0.1,
                          momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.MultiStepLR(
        opt, [int(a.steps * 0.7), int(a.steps * 0.9)], 0.1)
    test_t = torch.from_numpy(test).permute(0, 3, 1, 2).float().sub(127.5).div(128)

    def evaluate(step):
        net.eval()
        with torch.no_grad():
            feats = torch.cat([torch.cat([net(b), net(b.flip(3))], 1)
                               for b in test_t.split(128)]).numpy()
        net.train()
        acc, std = ten_fold(cosines(feats), same, fold_of, folds)
        print(f'step {step} ({step * a.batch} images): held-out {acc:.4f} +- {std:.4f}', flush=True)

    perm, pos, started = torch.randperm(len(train)), 0, time.time()
    for step in range(1, a.steps + 1):
        if pos + a.batch > len(train):
            perm, pos = torch.randperm(len(train)), 0
        idx = perm[pos:pos + a.batch]
        pos += a.batch
        x = train[idx].float().sub(127.5).div(128)
        flip = torch.rand(len(idx)) < 0.5
        x[flip] = x[flip].flip(3)
        y = labels[idx]
        f = net(x)
        loss = head(f, y) if a.head == 'sphere' else F.cross_entropy(head(f), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0:
            rate = step * a.batch / (time.time() - started)
            print(f'step {step} loss {loss.item():.3f} {rate:.1f} images/s', flush=True)
        if step % a.eval_every == 0 or step == a.steps:
            evaluate(step)


if __name__ == '__main__':
    main()
