import { DataLoader } from '../../lib/data/data-loader';
import { RandomHorizontalFlip } from '../../lib/data/transforms/random-horizontal-flip';
import { createModel } from '../../lib/models/model';
import type { Trainer } from '../../lib/train/trainer';

/**
 * A real sphere-cnn4 run small enough for a test: 12 images of 3 people (96x96), batches of 4,
 * 2 epochs (6 steps) of cosine lr with a 2-step warm-up. Each call of `loader` and `model` starts
 * the same run afresh.
 */
export function smallRun() {
  const n = 12;
  const batchSize = 4;
  const epochs = 2;
  const size = 96 * 96 * 3;
  const images = new Uint8Array(n * size);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < size; p++)
      images[i * size + p] = (labels[i] * 80 + ((p * 31 + i * 7) % 60)) % 256;
  }
  return {
    loader: () =>
      new DataLoader(
        { images, labels, n, height: 96, width: 96 },
        { batchSize, seed: 2, transforms: [new RandomHorizontalFlip(0.5)] },
      ),
    model: (device: 'cpu' | 'cuda') =>
      createModel({
        arch: 'sphere-cnn4',
        classes: 3,
        head: { kind: 'sphere', m: 4 },
        device,
        seed: 7,
      }),
    options: {
      epochs,
      optimizer: { lr: 0.05 },
      schedule: { kind: 'cosine', warmup: 2 } as const,
    },
    steps: (n / batchSize) * epochs,
  };
}

/** Pushes each step's loss onto `into`. */
export function recordLosses(trainer: Trainer, into: number[]): void {
  trainer.on('batch', (b) => void into.push(b.loss));
}
