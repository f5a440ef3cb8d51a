// A resumed run trains the model in its checkpoint: the model's settings (arch, head, embedding
// size) come from there, and a flag given that contradicts them is a usage error rather than
// ignored (the summary would record a model that was never trained).
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ARCHS } from '../models/archs';
import { loadModel } from '../models/model';
import type { Arch } from '../models/types';
import { latestCheckpoint, type Checkpoint } from '../train/checkpoint';
import { stringArg } from './args';
import { UsageError, type ParsedValues } from './command';
import {
  readTrainingArgs,
  type ModelSettings,
  type TrainingConfig,
  type TrainingDefaults,
} from './training-args';

/** The newest checkpoint in `out`, which --resume continues from. */
export async function resumeCheckpoint(out: string): Promise<Checkpoint> {
  const root = path.join(out, 'checkpoints');
  const checkpoint = await latestCheckpoint(root);
  if (!checkpoint) throw new Error(`--resume: no checkpoint in ${root}`);
  return checkpoint;
}

/**
 * readTrainingArgs, where a resume (into `out`, default --out) takes the model's settings that no
 * flag gives from its checkpoint, and refuses a flag that gives another.
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
  const model = checkpoint && (await modelOf(checkpoint));
  const config = { ...readTrainingArgs(values, defaults, model), out: dir };
  if (!checkpoint || !model) return config;
  const differ = contradiction(config, model);
  if (differ) {
    const [flag, given, theirs] = differ;
    throw new UsageError(
      `--${flag} ${given} contradicts the model being resumed (${checkpoint.dir}), which has ` +
        `${flag} ${theirs}; leave --${flag} out to keep it`,
    );
  }
  return config;
}

async function modelOf(checkpoint: Checkpoint): Promise<ModelSettings> {
  const { arch, head, embeddingDim } = checkpoint.state;
  if (!(ARCHS as readonly string[]).includes(arch)) {
    throw new Error(`checkpoint ${checkpoint.dir} holds an unknown arch '${arch}'`);
  }
  return {
    arch: arch as Arch,
    head,
    embeddingDim: embeddingDim ?? (await embeddingDimOf(checkpoint.modelPath)),
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
