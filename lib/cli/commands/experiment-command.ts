import { choiceArg, integerArg, stringArg } from '../args';
import { UsageError, type Command, type ParsedValues } from '../command';
import { defaultCache, demoSetOptions, readDemoSet } from '../demo-set';
import { ABLATION_HEADS, runMarginAblation } from '../experiments/margin-ablation';
import { describeSpread, runToyExperiment } from '../experiments/toy-features';
import { readTrainingArgs, trainingOptions } from '../training-args';
import { checkOutputFolder } from '../output-paths';
import { DEMO_TRAINING } from './demo-command';

const EXPERIMENTS = ['margin', 'toy'] as const;

/**
 * The toy's set and length: 6 identities as in the paper's figures, 40 photos each. 60 epochs of
 * 8 steps at the demo's settings: fewer left the 3-D A-Softmax m = 4 run short of separating
 * all six identities.
 */
export const TOY = { identities: 6, images: 40, epochs: 60, dim: 2 } as const;

// The demo set's flags the toy's set does not have.
const MARGIN_ONLY = ['only', 'held-out-identities', 'held-out-images', 'folds', 'pairs-per-fold'];

// The training flags an experiment takes: the rest stay at the demo's settings for every row.
const TRAINING_FLAGS = ['epochs', 'batch-size', 'lr', 'seed', 'device', 'threads'] as const;

const training = trainingOptions(DEMO_TRAINING);

function trainingValues(values: ParsedValues): ParsedValues {
  return Object.fromEntries(TRAINING_FLAGS.map((flag) => [flag, values[flag]]));
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary:
    "The paper's experiments: margin (accuracy and AFS by loss) and toy (2-D/3-D feature plots)",
  usage:
    'sphereface experiment margin [--epochs N] [--only ID,...] [demo set options] [options]\n' +
    '       sphereface experiment toy [--dim 2|3] [--identities N] [--images K] [options]',
  notes:
    `margin trains the demo's sphere-cnn4 on the demo's synthetic set once per loss ` +
    `(${ABLATION_HEADS.map((h) => h.id).join(', ')}) with the same seeds, and writes ` +
    'margin-ablation.md, .json and .png to --out (about 45 min on 2 cores at the defaults). ' +
    'toy trains on a few identities with a 2-D or 3-D embedding for softmax and A-Softmax ' +
    'm = 1..4 and draws the features, toy-<dim>d.png.',
  options: {
    ...demoSetOptions,
    identities: {
      ...demoSetOptions.identities,
      default: `${demoSetOptions.identities.default} (margin), ${TOY.identities} (toy)`,
    },
    images: {
      ...demoSetOptions.images,
      default: `${demoSetOptions.images.default} (margin), ${TOY.images} (toy)`,
    },
    epochs: {
      ...training.epochs,
      // Each row trains for epochs: this command takes no --iterations.
      description: 'train each row this many epochs',
      default: `${DEMO_TRAINING.epochs} (margin), ${TOY.epochs} (toy)`,
    },
    'batch-size': training['batch-size'],
    lr: training.lr,
    seed: training.seed,
    device: training.device,
    threads: training.threads,
    only: {
      type: 'string',
      value: 'ID,...',
      description: 'margin: train only these rows',
      default: 'all',
    },
    dim: { type: 'string', value: '2|3', description: 'toy: the embedding size', default: TOY.dim },
    out: {
      type: 'string',
      short: 'o',
      value: 'DIR',
      description: "each row's run, and the table and plot",
      default: 'sphereface-<experiment>',
    },
  },
  async run(values, positionals, out) {
    const [which, extra] = positionals;
    if (which === undefined) {
      throw new UsageError(
        `name the experiment as the first argument: ${EXPERIMENTS.join(' or ')}`,
      );
    }
    if (!(EXPERIMENTS as readonly string[]).includes(which)) {
      throw new UsageError(`unknown experiment '${which}'; expected ${EXPERIMENTS.join(' or ')}`);
    }
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    const outDir = stringArg(values, 'out') ?? `sphereface-${which}`;
    // Before any image is drawn or decoded: a file where a folder goes would fail only then.
    await checkOutputFolder('out', outDir);
    const cacheRoot = stringArg(values, 'cache');
    if (cacheRoot !== undefined) await checkOutputFolder('cache', cacheRoot);
    if (which === 'margin') {
      if (values.dim !== undefined) throw new UsageError('--dim applies to the toy experiment');
      const only = stringArg(values, 'only')
        ?.split(',')
        .map((id) => id.trim());
      const unknown = only?.find((id) => !ABLATION_HEADS.some((h) => h.id === id));
      if (unknown !== undefined) {
        throw new UsageError(
          `--only expects ids among ${ABLATION_HEADS.map((h) => h.id).join(', ')} but received '${unknown}'`,
        );
      }
      const config = { ...readTrainingArgs(trainingValues(values), DEMO_TRAINING), out: outDir };
      const result = await runMarginAblation({ set: readDemoSet(values), config, only, out });
      out.result({ command: 'experiment margin', rows: result.rows, files: result.files });
      out.line();
      out.line(result.table);
      out.line(result.afsNote);
      out.line(`table: ${result.files.table}; plot: ${result.files.plot}`);
      return 0;
    }
    for (const flag of MARGIN_ONLY) {
      if (values[flag] !== undefined) {
        throw new UsageError(`--${flag} applies to the margin experiment`);
      }
    }
    const dim = Number(choiceArg(values, 'dim', ['2', '3'] as const, String(TOY.dim) as '2'));
    const config = {
      ...readTrainingArgs(trainingValues(values), { ...DEMO_TRAINING, epochs: TOY.epochs }),
      out: outDir,
    };
    const result = await runToyExperiment({
      set: {
        identities: integerArg(values, 'identities', 2, TOY.identities),
        images: integerArg(values, 'images', 2, TOY.images),
        seed: readDemoSet(values).seed,
        cacheRoot: stringArg(values, 'cache') ?? defaultCache(),
      },
      dim: dim as 2 | 3,
      config,
      out,
    });
    out.result({ command: 'experiment toy', dim, panels: result.panels, files: result.files });
    out.line();
    for (const panel of result.panels) {
      out.line(
        `${panel.loss.padEnd(16)} ${panel.spread ? describeSpread(panel.spread) : panel.failed}`,
      );
    }
    out.line(`plot: ${result.files.plot}`);
    return 0;
  },
};
