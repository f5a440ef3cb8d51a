// A seeded generator so every test makes the same data on every run.
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1) (mulberry32). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }

  integer(below: number): number {
    return Math.floor(this.uniform() * below);
  }

  normals<A extends Float32Array | Float64Array>(array: A, scale = 1): A {
    for (let i = 0; i < array.length; i++) array[i] = this.normal() * scale;
    return array;
  }

  labels(count: number, classes: number): Int32Array {
    return Int32Array.from({ length: count }, () => this.integer(classes));
  }
}
