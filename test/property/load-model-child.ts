// Child process of load-model.property.test: loadModel on damaged model files, in a process of
// its own so that a crash in native code fails the test instead of ending the test run.
// argv: the number of cases. Prints one JSON line: { cases, loaded, refused } or exits non-zero.
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createModel, loadModel } from '../../lib/models/model';
import { tempDir } from '../data/helpers';
import { applyAll, attempt, byteMutation, mutation, settings } from './property';

/** Loading a 32 MB file on a busy machine. */
const CASE_MS = 15_000;

async function main(): Promise<void> {
  const cases = Number(process.argv[2]);
  const dir = tempDir('sphereface-property-model-');
  const file = path.join(dir, 'model.sfm');
  const model = await createModel({
    arch: 'sphere-cnn4',
    classes: 3,
    head: { kind: 'sphere', m: 4 },
    seed: 1,
  });
  await model.save(file);
  model.dispose();
  const original = new Uint8Array(fs.readFileSync(file));
  // Damage near the start (the header and the first tensors' descriptions) is what a loader
  // reads before anything else; byteMutation alone would mostly hit weights.
  const nearStart = byteMutation.map((m) =>
    mutation(`${m.label} in the first 4 KB`, (b: Uint8Array) => {
      if (b.length <= 4096) return m.apply(b);
      return Buffer.concat([m.apply(b.subarray(0, 4096)), b.subarray(4096)]);
    }),
  );
  let loaded = 0;
  let refused = 0;
  const damaged = path.join(dir, 'damaged.sfm');
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(nearStart, byteMutation), { minLength: 1, maxLength: 3 }),
      async (list) => {
        fs.writeFileSync(damaged, applyAll(original, list));
        const result = await attempt(damaged, () => loadModel(damaged), CASE_MS);
        if (result.ok) {
          loaded++;
          result.ok.dispose();
        } else refused++;
      },
    ),
    settings(cases),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ cases, loaded, refused })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
