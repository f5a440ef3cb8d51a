// Tiny synthetic identities for the model tests: each identity is a smooth random colour pattern
// (a few low-frequency waves per channel); each image of it adds a small shift and pixel noise.
// Deterministic for a seed; nothing is read from disk.

import { Random } from '../../lib/util/random';

/** A seeded uniform [0, 1) generator. */
export function random(seed: number): () => number {
  const generator = new Random(seed);
  return () => generator.next();
}

export interface SyntheticBatch {
  images: Uint8Array; // n x height x width x 3
  labels: Int32Array;
  n: number;
}

export function syntheticIdentities(options: {
  identities: number;
  imagesPerIdentity: number;
  height: number;
  width: number;
  seed?: number;
  noise?: number; // pixel noise amplitude in grey levels
}): SyntheticBatch {
  const { identities, imagesPerIdentity, height, width } = options;
  const rand = random(options.seed ?? 1);
  const noise = options.noise ?? 20;
  const n = identities * imagesPerIdentity;
  const images = new Uint8Array(n * height * width * 3);
  const labels = new Int32Array(n);
  for (let id = 0; id < identities; id++) {
    const waves = Array.from({ length: 3 * 4 }, () => ({
      fy: 1 + rand() * 3,
      fx: 1 + rand() * 3,
      phase: rand() * 2 * Math.PI,
      amplitude: 30 + rand() * 40,
    }));
    for (let k = 0; k < imagesPerIdentity; k++) {
      const index = id * imagesPerIdentity + k;
      labels[index] = id;
      const dy = (rand() - 0.5) * 0.1;
      const dx = (rand() - 0.5) * 0.1;
      let offset = index * height * width * 3;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          for (let c = 0; c < 3; c++) {
            let value = 128;
            for (let w = 0; w < 4; w++) {
              const wave = waves[c * 4 + w];
              value +=
                wave.amplitude *
                Math.sin(
                  2 * Math.PI * (wave.fy * (y / height + dy) + wave.fx * (x / width + dx)) +
                    wave.phase,
                ) *
                0.5;
            }
            value += (rand() - 0.5) * 2 * noise;
            images[offset++] = Math.max(0, Math.min(255, Math.round(value)));
          }
        }
      }
    }
  }
  return { images, labels, n };
}

/** The images mirrored left-right (what a nonzero flip byte asks for), computed independently. */
export function mirrored(images: Uint8Array, n: number, height: number, width: number): Uint8Array {
  const out = new Uint8Array(images.length);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const from = ((i * height + y) * width + x) * 3;
        const to = ((i * height + y) * width + (width - 1 - x)) * 3;
        out[to] = images[from];
        out[to + 1] = images[from + 1];
        out[to + 2] = images[from + 2];
      }
    }
  }
  return out;
}

/** SphereFace's lambda annealing with the original's defaults (base 1000, gamma 0.12, power 1, min 5). */
export function annealedLambda(iteration: number): number {
  return Math.max(5, 1000 * Math.pow(1 + 0.12 * iteration, -1));
}
