"""Reference PyTorch definitions of sphereface's architectures.

Each net is built layer for layer as the native addon builds it, with the same parameter names in
the same order, so that the state_dict `sphereface export` (or `model.exportStateDict()`) writes
loads with `load_state_dict` as it is, and a state_dict saved from these modules is what
`importStateDict(path, { arch })` reads:

    import torch
    from sphereface_torch import build

    net = build('sphere20', classes=10574)
    net.load_state_dict(torch.load('net.pt'))
    net.eval()
    features = net(images)  # N x 3 x 112 x 96 float32 RGB, (pixel - 127.5) / 128 -> N x 512

or, for any export (its head's classes, a model's other embedding size, the softmax head's bias
read from the file): `net = from_state_dict('sphere20', torch.load('net.pt'))`.

The margin head's weight (classes x 512, one row per identity, normalised when it is used) is
`net.head.weight`, and a softmax head's bias `net.head.bias`; the nets return embeddings and never
use the head. Only torch is needed: this file is not imported by the npm package.
"""

import torch
from torch import nn
import torch.nn.functional as F

ARCHS = ('sphere-cnn4', 'sphere4', 'sphere10', 'sphere20', 'sphere20a', 'sphere36', 'sphere64')
EMBEDDING_DIM = 512

# Residual units per stage of the SphereFace nets (Liu et al. 2017, Table 2).
UNITS = {
    'sphere4': (0, 0, 0, 0),
    'sphere10': (0, 1, 2, 0),
    'sphere20': (1, 2, 4, 1),
    'sphere20a': (1, 2, 4, 1),
    'sphere36': (2, 4, 8, 2),
    'sphere64': (3, 8, 16, 3),
}


class MarginHead(nn.Module):
    """The margin head's weight; the cosines it scores are F.linear(F.normalize(x), F.normalize(w)).
    With `bias` (the softmax head), its logits are F.linear(x, weight, bias)."""

    def __init__(self, classes, embedding_dim=EMBEDDING_DIM, bias=False):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(classes, embedding_dim))
        nn.init.normal_(self.weight)
        if bias:
            self.bias = nn.Parameter(torch.zeros(classes))

    def cosines(self, features):
        return F.linear(F.normalize(features), F.normalize(self.weight))


class ResidualUnit(nn.Module):
    """x + prelu2(conv2(prelu1(conv1(x)))), 3x3 convs with padding 1; biases only in sphere20a."""

    def __init__(self, channels, bias):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=bias)
        self.prelu1 = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=bias)
        self.prelu2 = nn.PReLU(channels)

    def forward(self, x):
        return x + self.prelu2(self.conv2(self.prelu1(self.conv1(x))))


class SphereNet(nn.Module):
    """SphereFace-4/10/20/36/64 on 112x96 input: per stage a 3x3 stride-2 conv with bias and PReLU,
    then residual units; fc 512*7*6 -> 512 without activation."""

    def __init__(self, units, classes, residual_bias=False, embedding_dim=EMBEDDING_DIM,
                 head_bias=False):
        super().__init__()
        channels = (3, 64, 128, 256, 512)
        for stage in range(4):
            s = stage + 1
            setattr(self, f'conv{s}', nn.Conv2d(channels[stage], channels[s], 3, 2, 1))
            setattr(self, f'prelu{s}', nn.PReLU(channels[s]))
            for u in range(units[stage]):
                setattr(self, f'stage{s}_unit{u + 1}', ResidualUnit(channels[s], residual_bias))
        self.units = units
        self.fc = nn.Linear(512 * 7 * 6, embedding_dim)
        self.head = MarginHead(classes, embedding_dim, head_bias)

    def forward(self, x):
        for stage in range(4):
            s = stage + 1
            x = getattr(self, f'prelu{s}')(getattr(self, f'conv{s}')(x))
            for u in range(self.units[stage]):
                x = getattr(self, f'stage{s}_unit{u + 1}')(x)
        return self.fc(x.flatten(1))


class SphereCnn4(nn.Module):
    """The seed's 4-layer net on 96x96 input: 3x3 stride-2 convs without padding (3->32->128->256->512)
    each followed by ReLU; fc 512*5*5 -> 512."""

    def __init__(self, classes, embedding_dim=EMBEDDING_DIM, head_bias=False):
        super().__init__()
        channels = (3, 32, 128, 256, 512)
        for i in range(4):
            setattr(self, f'conv{i + 1}', nn.Conv2d(channels[i], channels[i + 1], 3, 2))
        self.fc = nn.Linear(512 * 5 * 5, embedding_dim)
        self.head = MarginHead(classes, embedding_dim, head_bias)

    def forward(self, x):
        for i in range(4):
            x = F.relu(getattr(self, f'conv{i + 1}')(x))
        return self.fc(x.flatten(1))


def build(arch, classes, embedding_dim=EMBEDDING_DIM, head_bias=False):
    """The net `arch` (one of ARCHS) with a head of `classes` rows (and a bias: the softmax head's)
    and embeddings of `embedding_dim`."""
    if arch == 'sphere-cnn4':
        return SphereCnn4(classes, embedding_dim, head_bias)
    if arch not in UNITS:
        raise ValueError(f'unknown arch {arch!r}; expected one of {", ".join(ARCHS)}')
    return SphereNet(UNITS[arch], classes, arch == 'sphere20a', embedding_dim, head_bias)


def from_state_dict(arch, state_dict):
    """The net `arch` sized as the state_dict's head and embedding layer say, its weights loaded
    (keys of a DataParallel wrapper, 'module.' first, read as the module's)."""
    if state_dict and all(key.startswith('module.') for key in state_dict):
        state_dict = {key[len('module.'):]: value for key, value in state_dict.items()}
    if 'head.weight' not in state_dict or 'fc.weight' not in state_dict:
        raise ValueError("expected a state_dict with 'fc.weight' and 'head.weight'")
    classes = state_dict['head.weight'].shape[0]
    net = build(arch, classes, state_dict['fc.weight'].shape[0], 'head.bias' in state_dict)
    net.load_state_dict(state_dict)
    return net


def input_size(arch):
    """(height, width) of the images `arch` takes."""
    return (96, 96) if arch == 'sphere-cnn4' else (112, 96)


def preprocess(images, mean=127.5, std=128.0):
    """N x H x W x 3 uint8 RGB images (a tensor or a numpy array) -> the normalised
    N x 3 x H x W float32 input; mean and std are the model's (see `sphereface export`)."""
    return (torch.as_tensor(images).permute(0, 3, 1, 2).float() - mean) / std
