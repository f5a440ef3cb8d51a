// Child process for the kill test: writes one checkpoint, then starts a second whose model
// file is written slowly, announcing "halfway" so the parent can SIGKILL it mid-write.
import { writeCheckpoint } from '../../lib/train/checkpoint';
import { FakeModel } from './fakes';

async function main(): Promise<void> {
  const root = process.argv[2];
  const model = new FakeModel(3);
  const state = (iteration: number) => ({
    runId: 'run-a',
    iteration,
    epoch: 0,
    batch: iteration,
    epochTotals: { lossSum: 0, accuracySum: 0, batches: iteration, images: 4 * iteration },
    lr: 0.1,
    optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: false },
    schedule: { kind: 'constant' } as const,
    lambdaSchedule: false as const,
    totalIterations: 10,
    seed: 1,
    arch: model.arch,
    classes: model.classes,
    head: model.head,
  });
  model.weights[0] = 1;
  model.steps = 1;
  await writeCheckpoint(root, model, state(1), 3);
  model.weights[0] = 2;
  model.steps = 2;
  model.saveDelayMs = 60_000;
  model.onSaveHalfway = () => process.stdout.write('halfway\n');
  await writeCheckpoint(root, model, state(2), 3);
}

void main();
