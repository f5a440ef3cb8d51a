// A python3 with PyTorch (Debian's python3-torch) for the interchange tests, found once. Without
// one those tests skip themselves, unless SPHEREFACE_REQUIRE_TORCH=1 (set by .ci/run, which
// installs it): then they fail, so a CI without PyTorch cannot pass them by skipping.
import { spawnSync } from 'node:child_process';

export const torchRequired = process.env.SPHEREFACE_REQUIRE_TORCH === '1';

let found: string | null | undefined;

/** The first of $SPHEREFACE_PYTHON, python3, /usr/bin/python3 that imports torch. */
export function torchPython(): string | undefined {
  if (found === undefined) {
    const candidates = [process.env.SPHEREFACE_PYTHON, 'python3', '/usr/bin/python3'];
    found =
      candidates.find(
        (python) =>
          python !== undefined &&
          spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 120_000 })
            .status === 0,
      ) ?? null;
  }
  return found ?? undefined;
}
