// Test data from the library's seeded generator, so every test makes the same data on every run.
import { Random as Generator } from '../../lib/util/random';

export class Random {
  private readonly generator: Generator;

  constructor(seed: number) {
    this.generator = new Generator(seed);
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.generator.next();
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
