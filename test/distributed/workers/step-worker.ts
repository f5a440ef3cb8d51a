// One rank of the step-equivalence test: joins the run from torchrun's variables, trains its
// part of each batch (explicit ranges from the test), saves its model and prints the results.
// Usage: node step-worker.js '<json spec>' (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set).
import { createModel } from '../../../lib';
import { ProcessGroup } from '../../../lib/dist/process-group';
import type { MarginHead } from '../../../lib/ops/margin-head';
import { syntheticIdentities } from '../../models/synthetic-identities';

export interface StepSpec {
  arch: 'sphere-cnn4' | 'sphere4';
  head: MarginHead;
  classes: number;
  imagesPerIdentity: number;
  modelSeed: number;
  /** Per batch, per rank: the images [start, start + n) of that batch this rank trains on. */
  parts: { start: number; n: number }[][];
  lr: number;
  lambda: number;
  out: string; // the model goes to `${out}.rank${rank}`
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as StepSpec;
  const group = await ProcessGroup.join({ timeoutMs: 60_000 });
  // Another seed on every rank: the broadcast from rank 0 must make them one model.
  const model = await createModel({
    arch: spec.arch,
    classes: spec.classes,
    head: spec.head,
    device: 'cpu',
    seed: spec.modelSeed + 1000 * group.rank,
  });
  await model.joinGroup(group);
  const results = [];
  for (let b = 0; b < spec.parts.length; b++) {
    const batch = stepBatch(spec, b);
    const { start, n } = spec.parts[b][group.rank];
    const bytes = batch.images.length / batch.n;
    results.push(
      await model.trainStep({
        images: batch.images.subarray(start * bytes, (start + n) * bytes),
        labels: batch.labels.subarray(start, start + n),
        n,
        lr: spec.lr,
        lambda: spec.lambda,
        momentum: 0.9,
        weightDecay: 5e-4,
      }),
    );
  }
  await model.save(`${spec.out}.rank${group.rank}`);
  model.dispose();
  await group.leave();
  process.stdout.write(JSON.stringify(results));
}

/** Batch `b` of the test: synthetic identities, another draw per batch. */
export function stepBatch(spec: StepSpec, b: number) {
  const size = spec.arch === 'sphere-cnn4' ? { height: 96, width: 96 } : { height: 112, width: 96 };
  return syntheticIdentities({
    identities: spec.classes,
    imagesPerIdentity: spec.imagesPerIdentity,
    ...size,
    seed: 40 + b,
  });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
