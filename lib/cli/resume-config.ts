// A resumed run trains the model in its checkpoint: the model's settings (arch, head, embedding
// size) come from there, and a flag given that contradicts them is a usage error rather than
// ignored (the summary would record a model that was never trained). The run's settings (its
// length, batch size, optimiser, schedules, seed, flip and crops) come from there too where no
// flag gives them, so a bare --resume continues the run as it was started.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ARCHS } from '../models/archs';
import { loadModel, type Model } from '../models/model';
import type { Arch, DeviceChoice } from '../models/types';
import { listCheckpoints, newestFirst, readCheckpoint, type Checkpoint } from '../train/checkpoint';
import { stringArg } from './args';
import { UsageError, type ParsedValues } from './command';
import {
  readTrainingArgs,
  type ModelSettings,
  type ResumedSettings,
  type TrainingConfig,
  type TrainingDefaults,
} from './training-args';

/**
 * The checkpoints in `out` that --resume may continue from, newest first (by savedAt, then
 * iteration), and those whose state cannot be read, each with why.
 */
async function resumeCandidates(
  out: string,
): Promise<{ root: string; checkpoints: Checkpoint[]; unreadable: Skipped[] }> {
  const root = path.join(out, 'checkpoints');
  const checkpoints: Checkpoint[] = [];
  const unreadable: Skipped[] = [];
  for (const dir of await listCheckpoints(root)) {
    await readCheckpoint(dir).then(
      (checkpoint) => checkpoints.push(checkpoint),
      (error: Error) => unreadable.push({ dir, why: error.message }),
    );
  }
  checkpoints.sort(newestFirst);
  return { root, checkpoints, unreadable };
}

/** A checkpoint --resume passed over, and why. */
export interface Skipped {
  dir: string;
  why: string;
}

/** The newest checkpoint in `out` whose state reads: its settings are the resumed run's. */
export async function resumeCheckpoint(out: string): Promise<Checkpoint> {
  const { root, checkpoints, unreadable } = await resumeCandidates(out);
  if (checkpoints.length === 0) throw new Error(noCheckpoint(root, unreadable));
  return checkpoints[0];
}

function noCheckpoint(root: string, skipped: Skipped[]): string {
  const why = skipped.map((s) => `${s.dir}: ${s.why}`).join('; ');
  return `--resume: no checkpoint in ${root}` + (why ? ` that can be resumed (${why})` : '');
}

/**
 * The model of the newest checkpoint in `out` that loads whole and holds together (its model
 * has taken the steps its state records): a damaged newer one is passed over, and `onSkip`
 * told which and why, rather than ending the run.
 */
export async function loadResumedModel(
  out: string,
  options: { device: DeviceChoice; arch: Arch },
  onSkip: (skipped: Skipped) => void,
): Promise<{ checkpoint: Checkpoint; model: Model }> {
  const { root, checkpoints, unreadable } = await resumeCandidates(out);
  const skipped: Skipped[] = [];
  for (const checkpoint of checkpoints) {
    const model = await loadModel(checkpoint.modelPath, options).catch((error: Error) => {
      skipped.push({ dir: checkpoint.dir, why: error.message });
      return undefined;
    });
    if (!model) continue;
    const { modelSteps } = checkpoint.state;
    if (modelSteps !== undefined && model.steps !== modelSteps) {
      // The model is the checkpoint's own: the checkpoint's files were changed since.
      skipped.push({
        dir: checkpoint.dir,
        why: `it does not hold together: its model.sfm has taken ${model.steps} steps, its state.json records ${modelSteps}`,
      });
      model.dispose();
      continue;
    }
    const newer = (s: Skipped) => path.basename(s.dir) > path.basename(checkpoint.dir);
    for (const s of [...unreadable.filter(newer), ...skipped]) onSkip(s);
    return { checkpoint, model };
  }
  throw new Error(noCheckpoint(root, [...skipped, ...unreadable]));
}

/**
 * readTrainingArgs, where a resume (into `out`, default --out) takes the settings that no flag
 * gives from its checkpoint, and refuses a flag that gives the model another.
 */
export async function readRunConfig(
  values: ParsedValues,
  defaults: TrainingDefaults,
  out?: string,
): Promise<TrainingConfig> {
  const dir = out ?? stringArg(values, 'out') ?? defaults.out;
  // An --out that is a file is checkOutFolder's to report; a missing one has no checkpoint.
  const isFile = (await fs.stat(dir).catch(() => undefined))?.isDirectory() === false;
  const checkpoint = values.resume === true && !isFile ? await resumeCheckpoint(dir) : undefined;
  const resumed = checkpoint && (await settingsOf(checkpoint));
  const config = { ...readTrainingArgs(values, defaults, resumed), out: dir };
  if (!checkpoint || !resumed) return config;
  const differ = contradiction(config, resumed);
  if (differ) {
    const [flag, given, theirs] = differ;
    throw new UsageError(
      `--${flag} ${given} contradicts the model being resumed (${checkpoint.dir}), which has ` +
        `${flag} ${theirs}; leave --${flag} out to keep it`,
    );
  }
  return config;
}

async function settingsOf(checkpoint: Checkpoint): Promise<ResumedSettings> {
  const { state } = checkpoint;
  if (!(ARCHS as readonly string[]).includes(state.arch)) {
    throw new Error(`checkpoint ${checkpoint.dir} holds an unknown arch '${state.arch}'`);
  }
  const { loader } = state;
  return {
    arch: state.arch as Arch,
    head: state.head,
    embeddingDim: state.embeddingDim ?? (await embeddingDimOf(checkpoint.modelPath)),
    iterations: state.totalIterations,
    ...(state.batchSize !== undefined ? { batchSize: state.batchSize } : {}),
    optimizer: state.optimizer,
    schedule: state.schedule,
    lambda: state.lambdaSchedule,
    seed: state.seed,
    ...(loader
      ? { flip: loader.flip > 0, cropPadding: loader.randomCrop ? loader.randomCrop.padding : 0 }
      : {}),
  };
}

// Checkpoints written before state.json recorded the size: the model file's.
async function embeddingDimOf(modelPath: string): Promise<number> {
  const model = await loadModel(modelPath, { device: 'cpu' });
  try {
    return model.embeddingDim;
  } finally {
    model.dispose();
  }
}

/** The first setting where the config differs from the model: [flag, config's, model's]. */
function contradiction(
  config: TrainingConfig,
  model: ModelSettings,
): [string, string, string] | undefined {
  if (config.arch !== model.arch) return ['arch', config.arch, model.arch];
  const [a, b] = [config.head, model.head];
  if (a.kind !== b.kind) return ['head', a.kind, b.kind];
  if ('m' in a && 'm' in b && a.m !== b.m) return ['m', String(a.m), String(b.m)];
  if ('scale' in a && 'scale' in b && a.scale !== b.scale) {
    return ['scale', String(a.scale), String(b.scale)];
  }
  const easy = (h: typeof a) => (h.kind === 'arc' && h.easyMargin === true ? 'on' : 'off');
  if (easy(a) !== easy(b)) return ['easy-margin', easy(a), easy(b)];
  if (config.embeddingDim !== model.embeddingDim) {
    return ['embedding-dim', String(config.embeddingDim), String(model.embeddingDim)];
  }
  return undefined;
}
