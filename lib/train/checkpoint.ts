// Checkpoints: one folder per checkpoint holding the model file (model.save: weights and
// optimiser state) and a small JSON sidecar with everything else a resume needs. The folder is
// assembled under a temporary name and renamed into place, so a run killed at any moment leaves
// either the complete new checkpoint or none of it, and the previous ones untouched. Each
// checkpoint names the run that wrote it, and a run prunes only its own.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { removeStaleTemps, replaceAtomically } from '../util/atomic-write';
import { readRegularFile } from '../util/regular-file';
import { parseCheckpointState, STATE_VERSION } from './checkpoint-state';
import type { BatchSettings, Labelling } from '../data/types';
import type { MarginHead } from '../ops/margin-head';
import type { LambdaSchedule } from './lambda-schedule';
import type { LrSchedule } from './schedule';
import type { OptimizerOptions } from './trainer-options';
import { expectPath } from '../util/expect';

export const MODEL_FILE = 'model.sfm';
export const STATE_FILE = 'state.json';
/** A state.json is about a kilobyte; a larger one is not a checkpoint's. */
const MAX_STATE_BYTES = 1 << 20;
// iter-N, or iter-N-<runId> beside another run's iter-N.
const NAME = /^iter-(\d+)(-[0-9a-f]+)?$/;

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
  /** The run that wrote it (kept across resumes); pruning never touches another run's. */
  runId: string;
  iteration: number; // steps done
  epoch: number; // epoch of the next batch (0-based)
  batch: number; // index of the next batch in that epoch
  epochTotals: EpochTotals;
  lr: number; // of the last step
  lambda?: number; // of the last step (sphere head)
  optimizer: Required<OptimizerOptions>; // lr is the base rate the schedule scales
  schedule: LrSchedule;
  lambdaSchedule: LambdaSchedule | false;
  totalIterations: number;
  // The loader's randomness is a function of (seed, epoch, batch): the position above and this
  // seed are the whole RNG state.
  seed: number;
  arch: string;
  classes: number;
  head: MarginHead;
  /** The net's embedding size; absent in checkpoints written before it was recorded. */
  embeddingDim?: number;
  /**
   * Batches in an epoch of the run's data (its size and the batch size): the position above
   * means the same only with the same. Absent in checkpoints written before it was recorded.
   */
  batchesPerEpoch?: number;
  /** The Trainer's batchSize, when it was given one; absent in older files. */
  batchSize?: number;
  /**
   * The model's own step count when saved (model.steps), which the model loaded from modelPath
   * has: a resume with another model is refused. Absent in older files.
   */
  modelSteps?: number;
  /** The loader's order and augmentation; absent when the source gives none, or in older files. */
  loader?: BatchSettings;
  /** The training data's labels in brief; absent when the source gives none, or in older files. */
  labelling?: Labelling;
  /** The run's ranks (1 without distribution); absent in older files. */
  worldSize?: number;
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

/**
 * Where run `runId` saves its checkpoint of `iteration`: iter-N, unless another run's checkpoint
 * (or a folder that is not this run's) holds that name; then beside it, as iter-N-<runId>.
 */
async function checkpointDir(root: string, iteration: number, runId: string): Promise<string> {
  const plain = path.join(root, checkpointName(iteration));
  const taken = await fs.lstat(plain).then(
    () => true,
    () => false,
  );
  if (!taken) return plain;
  const owner = await readState(plain).then(
    (state) => state.runId,
    () => undefined,
  );
  return owner === runId ? plain : `${plain}-${runId}`;
}

/**
 * Writes a checkpoint into `root` atomically and keeps the newest `keep` of this run's (0 keeps
 * all). This run's checkpoint of the same iteration is replaced: that happens when a resumed run
 * repeats it. Another run's stays.
 */
export async function writeCheckpoint(
  root: string,
  model: Savable,
  state: Omit<CheckpointState, 'version' | 'savedAt'>,
  keep: number,
): Promise<Checkpoint> {
  await fs.mkdir(root, { recursive: true });
  const dir = await checkpointDir(root, state.iteration, state.runId);
  const full: CheckpointState = {
    ...state,
    version: STATE_VERSION,
    savedAt: new Date().toISOString(),
  };
  try {
    await replaceAtomically(
      dir,
      async (temp) => {
        await fs.mkdir(temp);
        await model.save(path.join(temp, MODEL_FILE));
        const handle = await fs.open(path.join(temp, STATE_FILE), 'w');
        try {
          await handle.writeFile(JSON.stringify(full, null, 2) + '\n');
          await handle.sync();
        } finally {
          await handle.close();
        }
      },
      { folder: true },
    );
  } catch (error) {
    throw new Error(`Could not write checkpoint ${dir}: ${(error as Error).message}`);
  }
  await pruneCheckpoints(root, state.runId, keep);
  return { dir, modelPath: path.join(dir, MODEL_FILE), state: full };
}

/** Complete checkpoints in `root`, oldest first. Half-written ones are never listed. */
export async function listCheckpoints(root: string): Promise<string[]> {
  expectPath(root, 'root', 'a checkpoints folder path');
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

async function pruneCheckpoints(root: string, runId: string, keep: number): Promise<void> {
  // Temporary folders of killed runs are garbage.
  await removeStaleTemps(root);
  if (keep <= 0) return;
  const ours: string[] = [];
  for (const dir of await listCheckpoints(root)) {
    const state = await readState(dir).catch(() => undefined);
    if (state?.runId === runId) ours.push(dir);
  }
  for (const dir of ours.slice(0, Math.max(0, ours.length - keep))) {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function readState(dir: string): Promise<CheckpointState> {
  const statePath = path.join(dir, STATE_FILE);
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(statePath, { maxBytes: MAX_STATE_BYTES });
  } catch (error) {
    throw new Error(`cannot read checkpoint state: ${(error as Error).message}`);
  }
  return parseCheckpointState(bytes.toString('utf8'), statePath);
}

/** Reads a checkpoint folder (or the newest one under a checkpoints root). */
export async function readCheckpoint(dirOrRoot: string): Promise<Checkpoint> {
  let dir = expectPath(dirOrRoot, 'dirOrRoot', 'a checkpoint folder path');
  if (!NAME.test(path.basename(dir))) {
    const all = await listCheckpoints(dir);
    if (all.length === 0) throw new Error(`no checkpoint found in ${dirOrRoot}`);
    dir = all[all.length - 1];
  }
  const state = await readState(dir);
  const modelPath = path.join(dir, MODEL_FILE);
  await fs.access(modelPath).catch(() => {
    throw new Error(`checkpoint ${dir} has no ${MODEL_FILE}`);
  });
  return { dir, modelPath, state };
}

/**
 * The checkpoint written last under `root` (by its savedAt, then iteration), or undefined when
 * there is none: with several runs in one folder, the run that wrote most recently.
 */
export async function latestCheckpoint(root: string): Promise<Checkpoint | undefined> {
  expectPath(root, 'root', 'a checkpoints folder path');
  let latest: Checkpoint | undefined;
  for (const dir of await listCheckpoints(root)) {
    const checkpoint = await readCheckpoint(dir);
    if (!latest || newestFirst(checkpoint, latest) < 0) latest = checkpoint;
  }
  return latest;
}

/** Orders checkpoints newest first: the one written last (savedAt), then the further one. */
export function newestFirst(a: Checkpoint, b: Checkpoint): number {
  if (a.state.savedAt !== b.state.savedAt) return a.state.savedAt > b.state.savedAt ? -1 : 1;
  return b.state.iteration - a.state.iteration;
}
