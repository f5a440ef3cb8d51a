// Checkpoints: one folder per checkpoint holding the model file (model.save: weights and
// optimiser state) and a small JSON sidecar with everything else a resume needs. The folder is
// assembled under a temporary name and renamed into place, so a run killed at any moment leaves
// either the complete new checkpoint or none of it, and the previous ones untouched.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { MarginHead } from '../ops/margin-head';
import type { LambdaSchedule } from './lambda-schedule';
import type { LrSchedule } from './schedule';

export const MODEL_FILE = 'model.sfm';
export const STATE_FILE = 'state.json';
const STATE_VERSION = 1;
const NAME = /^iter-(\d+)$/;

/** Running sums of the epoch in progress, so a resumed epoch reports the same mean loss. */
export interface EpochTotals {
  lossSum: number;
  accuracySum: number;
  batches: number;
  images: number;
}

/** The sidecar: where training stands after `iteration` steps. */
export interface CheckpointState {
  version: number;
  iteration: number; // steps done
  epoch: number; // epoch of the next batch (0-based)
  batch: number; // index of the next batch in that epoch
  epochTotals: EpochTotals;
  lr: number; // of the last step
  lambda?: number; // of the last step (sphere head)
  baseLr: number;
  schedule: LrSchedule;
  lambdaSchedule: LambdaSchedule | false;
  totalIterations: number;
  // The loader's randomness is a function of (seed, epoch, batch): the position above and this
  // seed are the whole RNG state.
  seed: number;
  arch: string;
  classes: number;
  head: MarginHead;
  savedAt: string;
}

export interface Checkpoint {
  dir: string;
  modelPath: string;
  state: CheckpointState;
}

/** Anything with the model's save(path); the trainer passes its FaceModel. */
export interface Savable {
  save(path: string): Promise<void>;
}

function checkpointName(iteration: number): string {
  return `iter-${String(iteration).padStart(8, '0')}`;
}

async function writeFileDurably(file: string, text: string): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a checkpoint into `root` atomically and keeps the newest `keep` (0 keeps all). */
export async function writeCheckpoint(
  root: string,
  model: Savable,
  state: Omit<CheckpointState, 'version' | 'savedAt'>,
  keep: number,
): Promise<Checkpoint> {
  await fs.mkdir(root, { recursive: true });
  const name = checkpointName(state.iteration);
  const temp = path.join(root, `.${name}.tmp-${process.pid}`);
  await fs.rm(temp, { recursive: true, force: true });
  await fs.mkdir(temp);
  const full: CheckpointState = {
    ...state,
    version: STATE_VERSION,
    savedAt: new Date().toISOString(),
  };
  try {
    await model.save(path.join(temp, MODEL_FILE));
    await writeFileDurably(path.join(temp, STATE_FILE), JSON.stringify(full, null, 2) + '\n');
    const dir = path.join(root, name);
    // A checkpoint of the same iteration exists only when a resumed run repeats it.
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(temp, dir);
    await pruneCheckpoints(root, keep);
    return { dir, modelPath: path.join(dir, MODEL_FILE), state: full };
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Complete checkpoints in `root`, oldest first. Half-written ones are never listed. */
export async function listCheckpoints(root: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((e) => NAME.test(e))
    .sort()
    .map((e) => path.join(root, e));
}

async function pruneCheckpoints(root: string, keep: number): Promise<void> {
  const all = await listCheckpoints(root);
  const stale = keep > 0 ? all.slice(0, Math.max(0, all.length - keep)) : [];
  // Temporary folders of killed runs (other pids) are garbage too.
  const temps = (await fs.readdir(root)).filter(
    (e) => e.startsWith('.iter-') && !e.endsWith(`.tmp-${process.pid}`),
  );
  for (const dir of [...stale, ...temps.map((e) => path.join(root, e))]) {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Reads a checkpoint folder (or the newest one under a checkpoints root). */
export async function readCheckpoint(dirOrRoot: string): Promise<Checkpoint> {
  let dir = dirOrRoot;
  if (!NAME.test(path.basename(dir))) {
    const all = await listCheckpoints(dir);
    if (all.length === 0) throw new Error(`no checkpoint found in ${dirOrRoot}`);
    dir = all[all.length - 1];
  }
  const statePath = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = await fs.readFile(statePath, 'utf8');
  } catch (error) {
    throw new Error(`cannot read checkpoint state ${statePath}: ${(error as Error).message}`);
  }
  let state: CheckpointState;
  try {
    state = JSON.parse(text) as CheckpointState;
  } catch (error) {
    throw new Error(`checkpoint state ${statePath} is not valid JSON: ${(error as Error).message}`);
  }
  if (state.version !== STATE_VERSION || !Number.isInteger(state.iteration)) {
    throw new Error(
      `checkpoint state ${statePath} has version ${String(state.version)}; expected ${STATE_VERSION}`,
    );
  }
  const modelPath = path.join(dir, MODEL_FILE);
  await fs.access(modelPath).catch(() => {
    throw new Error(`checkpoint ${dir} has no ${MODEL_FILE}`);
  });
  return { dir, modelPath, state };
}

/** The newest checkpoint under `root`, or undefined when there is none. */
export async function latestCheckpoint(root: string): Promise<Checkpoint | undefined> {
  const all = await listCheckpoints(root);
  return all.length ? readCheckpoint(all[all.length - 1]) : undefined;
}
