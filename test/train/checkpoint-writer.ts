// Child process for the kill test: writes one checkpoint, then starts a second whose model
// file is written slowly, announcing "halfway" so the parent can SIGKILL it mid-write.
import { writeCheckpoint } from '../../lib/train/checkpoint';
import { checkpointStateOf, FakeModel } from './fakes';

async function main(): Promise<void> {
  const root = process.argv[2];
  const model = new FakeModel(3);
  model.weights[0] = 1;
  model.steps = 1;
  await writeCheckpoint(root, model, checkpointStateOf(model, 1), 3);
  model.weights[0] = 2;
  model.steps = 2;
  model.saveDelayMs = 60_000;
  model.onSaveHalfway = () => process.stdout.write('halfway\n');
  await writeCheckpoint(root, model, checkpointStateOf(model, 2), 3);
}

void main();
