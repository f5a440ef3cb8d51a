import { expect } from 'chai';
import type { MarginHead } from '../../lib/ops/margin-head';
import { marginSoftmaxLossOn } from '../../lib/ops/margin-softmax';
import { Random } from './random';
import { skipWithoutCuda } from '../cuda';

// CUDA runs the same forward/backward as a kernel; it must agree with the CPU kernel. Skipped
// without CUDA, except under SPHEREFACE_REQUIRE_CUDA=1 (the GPU machine), where that fails.
describe('marginSoftmaxLoss on CUDA', function () {
  before(function () {
    skipWithoutCuda(this, { kernels: true });
  });

  const heads: MarginHead[] = [
    { kind: 'sphere', m: 4, lambda: 3 },
    { kind: 'sphere', m: 1 },
    { kind: 'cos', m: 0.35, scale: 30 },
    { kind: 'arc', m: 0.5, scale: 30 },
  ];
  for (const head of heads) {
    for (const float64 of [false, true]) {
      it(`equals the CPU result for ${JSON.stringify(head)} in ${float64 ? 'float64' : 'float32'}`, async () => {
        const random = new Random(42);
        const [batch, classes, dim] = [67, 1031, 40];
        const make = (n: number) => (float64 ? new Float64Array(n) : new Float32Array(n));
        const features = random.normals(make(batch * dim), 2);
        const weight = random.normals(make(classes * dim), 0.1);
        features.fill(0, 0, dim); // a zero row takes the eps path on both devices
        const labels = random.labels(batch, classes);
        const input = { features, weight, labels, dim, head };
        const cpu = await marginSoftmaxLossOn(input, 'cpu');
        const gpu = await marginSoftmaxLossOn(input, 'cuda');
        const tolerance = float64 ? 1e-10 : 2e-4;
        expect(gpu.loss).to.be.closeTo(cpu.loss, tolerance * Math.max(1, cpu.loss));
        expect(gpu.accuracy).to.equal(cpu.accuracy);
        for (const key of ['gradFeatures', 'gradWeight'] as const) {
          const scale = Math.max(...Array.from(cpu[key], Math.abs));
          let worst = 0;
          for (let i = 0; i < cpu[key].length; i++) {
            worst = Math.max(worst, Math.abs(gpu[key][i] - cpu[key][i]));
          }
          expect(worst / scale, key).to.be.below(tolerance);
        }
      });
    }
  }
});
