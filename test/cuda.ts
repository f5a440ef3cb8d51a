import { info } from '../lib';

/**
 * For a CUDA suite's before(): skips the suite where libtorch sees no GPU (with `kernels`, also
 * where the build has no CUDA kernels), except under SPHEREFACE_REQUIRE_CUDA=1 (`npm run
 * test:cuda`, the GPU machine), where that fails instead.
 */
export function skipWithoutCuda(context: Mocha.Context, { kernels = false } = {}): void {
  const { cuda } = info();
  if (cuda.available && (!kernels || cuda.kernels)) return;
  if (process.env.SPHEREFACE_REQUIRE_CUDA === '1') {
    const kernelState = kernels
      ? ` and the CUDA kernels are ${cuda.kernels ? '' : 'not '}built`
      : '';
    throw new Error(
      `SPHEREFACE_REQUIRE_CUDA=1 but libtorch sees ${cuda.available ? 'a' : 'no'} CUDA device${kernelState}`,
    );
  }
  context.skip();
}
