"""The PyTorch side of the interchange tests (test/models/pytorch-bridge.test.ts).

    python3 bridge_check.py JOBS.json

JOBS.json holds a list of jobs; each reads uint8 N x H x W x 3 RGB images from `images` and writes
the net's N x embedding float32 embeddings to `out`. Kinds:
  embed     load `stateDict` (what sphereface exported; torch.load with weights_only=True) into
            python/sphereface_torch.py's `arch`, sized by from_state_dict
  make      give `arch` random weights (seeded), torch.save its state_dict to `stateDict`
            (without the head when `dropHead`; `embeddingDim` and `headBias` size the net,
            `keyPrefix` goes before every key, `nanKey`'s first element is NaN)
  clcarwin  the same with this file's sphere20a in clcarwin/sphereface_pytorch's layout, fed
            the images as BGR, as that port's evaluation feeds OpenCV's images
Prints one JSON line: per job, the state_dict's keys and whether its order and dtypes matched.
"""

import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'python'))
import sphereface_torch  # noqa: E402


class ClcarwinSphere20a(nn.Module):
    """sphere20a named and shaped as clcarwin/sphereface_pytorch's net_sphere.py stores it: per
    stage s, conv{s}_1 (stride 2) + relu{s}_1, then residual pairs conv{s}_{k}/relu{s}_{k},
    every conv with a bias; fc5 the embedding; fc6.weight the head, 512 x classes."""

    def __init__(self, classes):
        super().__init__()
        channels = (3, 64, 128, 256, 512)
        self.layout = []
        for stage, units in enumerate((1, 2, 4, 1)):
            s = stage + 1
            names = [f'{s}_1']
            self.add_module(f'conv{s}_1', nn.Conv2d(channels[stage], channels[s], 3, 2, 1))
            self.add_module(f'relu{s}_1', nn.PReLU(channels[s]))
            for k in range(2, 2 + 2 * units):
                self.add_module(f'conv{s}_{k}', nn.Conv2d(channels[s], channels[s], 3, 1, 1))
                self.add_module(f'relu{s}_{k}', nn.PReLU(channels[s]))
                names.append(f'{s}_{k}')
            self.layout.append(names)
        self.fc5 = nn.Linear(512 * 7 * 6, 512)
        self.fc6 = nn.Module()
        self.fc6.weight = nn.Parameter(torch.empty(512, classes))

    def forward(self, x):
        def layer(name, x):
            return getattr(self, f'relu{name}')(getattr(self, f'conv{name}')(x))

        for names in self.layout:
            x = layer(names[0], x)
            for i in range(1, len(names), 2):
                x = x + layer(names[i + 1], layer(names[i], x))
        return self.fc5(x.flatten(1))


def randomise(net, generator):
    """Weights that keep every layer's activations of order one, biases and slopes nonzero."""
    with torch.no_grad():
        for name, param in net.named_parameters():
            if name.endswith('bias'):
                param.uniform_(-0.1, 0.1, generator=generator)
            elif param.dim() == 1:  # PReLU slopes
                param.uniform_(0.05, 0.4, generator=generator)
            else:
                fan_in = param[0].numel() if param.dim() > 1 else 1
                residual = param.dim() == 4 and param.shape[0] == param.shape[1]
                scale = (0.3 if residual else 1.0) * (1.0 / fan_in) ** 0.5
                param.normal_(0, scale, generator=generator)


def read_images(job):
    height, width = sphereface_torch.input_size(job.get('arch', 'sphere20a'))
    raw = open(job['images'], 'rb').read()
    images = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
    return images.reshape(job['n'], height, width, 3)


def run(job):
    images = read_images(job)
    report = {}
    if job['kind'] == 'embed':
        # weights_only: the file may hold only what a state_dict holds (PyTorch 2.6's default).
        state = torch.load(job['stateDict'], weights_only=True)
        net = sphereface_torch.from_state_dict(job['arch'], state)
        report['keys'] = list(state.keys())
        report['orderMatches'] = list(state.keys()) == list(net.state_dict().keys())
        report['allFloat32'] = all(t.dtype == torch.float32 for t in state.values())
        x = sphereface_torch.preprocess(images)
    else:
        generator = torch.Generator().manual_seed(job['seed'])
        if job['kind'] == 'make':
            net = sphereface_torch.build(job['arch'], job['classes'],
                                         job.get('embeddingDim', sphereface_torch.EMBEDDING_DIM),
                                         job.get('headBias', False))
            x = sphereface_torch.preprocess(images)
        else:
            net = ClcarwinSphere20a(job['classes'])
            x = sphereface_torch.preprocess(images.flip(3))  # RGB -> BGR
        randomise(net, generator)
        state = net.state_dict()
        if job.get('dropHead'):
            state = {k: v for k, v in state.items() if not k.startswith('head.')}
        if 'nanKey' in job:
            state[job['nanKey']] = state[job['nanKey']].clone()
            state[job['nanKey']].view(-1)[0] = float('nan')
        state = {job.get('keyPrefix', '') + k: v for k, v in state.items()}
        torch.save(state, job['stateDict'])
        report['keys'] = list(state.keys())
    net.eval()
    with torch.no_grad():
        features = net(x)
    with open(job['out'], 'wb') as f:
        f.write(features.contiguous().numpy().astype('float32').tobytes())
    return report


if __name__ == '__main__':
    torch.set_num_threads(int(os.environ.get('SPHEREFACE_NUM_THREADS', '2')))
    jobs = json.load(open(sys.argv[1]))
    print(json.dumps([run(job) for job in jobs]))
