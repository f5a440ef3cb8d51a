// The one seeded random generator. A stream is named by a key of integers (a seed, then e.g. an
// epoch and a batch, or an identity and an image): the key is hashed into the generator's state,
// so any stream can be rebuilt on its own, in any order and on any thread. That is what lets a
// trainer resume at (epoch, batch) and the synthetic generator render images on any worker.

/**
 * Mixes integers into one 32-bit word (murmur3's finaliser after each word). Each integer
 * contributes its low 32 bits, and its high bits when it has any, so seeds past 2^32 still differ.
 */
export function hashWords(...words: number[]): number {
  let h = 0x9e3779b9;
  const mix = (word: number) => {
    h = Math.imul(h ^ word, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  };
  for (const word of words) {
    mix(word >>> 0);
    const high = Math.floor(word / 0x100000000) >>> 0;
    if (high !== 0) mix(high ^ 0x5bd1e995);
  }
  return h >>> 0;
}

/** sfc32 (128-bit state; passes PractRand) on a stream named by `key`. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  constructor(...key: number[]) {
    for (const part of key) {
      if (!Number.isSafeInteger(part)) {
        throw new RangeError(`Random: expected integer key parts but received ${part}`);
      }
    }
    this.a = hashWords(...key, 1);
    this.b = hashWords(...key, 2);
    this.c = hashWords(...key, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), a multiple of 2^-32. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /**
   * Integer in [0, n) as floor(next() * n): each value's probability is off from 1/n by less than
   * n / 2^32 of it, which no use here can see (n is at most a few million).
   */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Standard normal (Box-Muller, the second value kept for the next call). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const value = this.spareNormal;
      this.spareNormal = undefined;
      return value;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Normal clipped to +-limit standard deviations. */
  clippedNormal(mean: number, sd: number, limit = 2.5): number {
    const z = Math.max(-limit, Math.min(limit, this.normal()));
    return mean + sd * z;
  }

  /** Fisher-Yates shuffle in place (arrays and typed arrays). */
  shuffle<A extends { length: number; [i: number]: T }, T = A[number]>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}
