// `sphereface experiment margin`: the demo's net trained on the demo's synthetic set once per
// loss (the plain softmax, A-Softmax m = 1..4, CosFace and ArcFace at their usual settings), with
// the same seeds, data and schedule for every row; then one table and one plot of held-out
// accuracy ± std, Angular Fisher Score and final training loss, as the paper compares m.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AfsDefinition } from '../../eval/angular-fisher-score';
import { rawPixelEmbedder } from '../../eval/embedder';
import type { LfwEvaluation } from '../../eval/lfw-evaluator';
import { info } from '../../info';
import { describeHead, HEAD_DEFAULTS, type MarginHead } from '../../ops/margin-head';
import { IDENTITY_COLOURS } from '../../report/colours';
import { renderPlot } from '../../report/report-plots';
import { NonFiniteLossError } from '../../train/trainer';
import { writeFileAtomic } from '../../util/atomic-write';
import { prepareDemoSet, type DemoSet, type DemoSetSpec } from '../demo-set';
import type { Output } from '../output';
import { formatAccuracy, throwIfStoppedEarly } from '../run-report';
import type { TrainingConfig } from '../training-args';
import { runTraining } from '../training-run';

/** The rows, in the table's order: each with a folder name and a short label for the plot. */
export const ABLATION_HEADS: readonly { id: string; short: string; head: MarginHead }[] = [
  { id: 'softmax', short: 'softmax', head: HEAD_DEFAULTS.softmax },
  ...[1, 2, 3, 4].map((m) => ({
    id: `sphere-m${m}`,
    short: `A-Softmax m=${m}`,
    head: { kind: 'sphere', m } as const,
  })),
  { id: 'cos', short: 'CosFace', head: HEAD_DEFAULTS.cos },
  { id: 'arc', short: 'ArcFace', head: HEAD_DEFAULTS.arc },
];

export interface AblationRow {
  id: string;
  loss: string;
  head?: MarginHead;
  accuracy?: number;
  std?: number;
  afs?: number;
  afsDefinition?: { definition: AfsDefinition; normalized: boolean };
  /** Mean training loss over the last epoch. */
  finalLoss?: number;
  trainingSeconds?: number;
  /** Why the row has no figures (a run that diverged). */
  failed?: string;
}

export interface AblationResult {
  rows: AblationRow[];
  table: string;
  /** How the AFS column was computed. */
  afsNote: string;
  files: { table: string; json: string; plot: string };
}

export interface AblationInput {
  set: DemoSetSpec;
  /** The training every row shares; its head and out are set per row. */
  config: TrainingConfig;
  /** Only these rows (ids of ABLATION_HEADS); all when undefined. */
  only?: readonly string[];
  out: Output;
}

function row(id: string, loss: string, evaluation: LfwEvaluation): AblationRow {
  const score = evaluation.angularFisherScore;
  return {
    id,
    loss,
    accuracy: evaluation.accuracy,
    std: evaluation.std,
    afs: score?.afs,
    afsDefinition: score && { definition: score.definition, normalized: score.normalized },
  };
}

/** How the rows' AFS was computed, for the table's footnote: every row uses the same evaluator. */
export function describeAfsDefinition(rows: readonly AblationRow[]): string {
  const used = rows.find((r) => r.afsDefinition)?.afsDefinition;
  if (!used) return 'AFS: not computed (the held-out set has no identities)';
  const weight =
    used.definition === 'paper' ? "the paper's S_w (no n_i weight)" : "the seed's n_i-weighted S_w";
  const means = used.normalized ? 'unit-length features' : 'features as given';
  return `AFS = S_w / S_b on the held-out identities, ${weight}, class means of ${means}.`;
}

export function ablationTable(rows: readonly AblationRow[]): string {
  const figure = (value: number | undefined, digits: number) =>
    value === undefined ? 'n/a' : value.toFixed(digits);
  const lines = [
    '| loss | held-out accuracy ± std | AFS (lower is better) | final training loss | training time |',
    '|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const accuracy =
      r.accuracy === undefined
        ? (r.failed ?? 'n/a')
        : formatAccuracy({ accuracy: r.accuracy, std: r.std ?? 0 });
    const seconds = r.trainingSeconds === undefined ? '' : `${r.trainingSeconds.toFixed(0)} s`;
    lines.push(
      `| ${r.loss} | ${accuracy} | ${figure(r.afs, 4)} | ${figure(r.finalLoss, 3)} | ${seconds} |`,
    );
  }
  return lines.join('\n');
}

export async function runMarginAblation(input: AblationInput): Promise<AblationResult> {
  const { config, out } = input;
  const heads = ABLATION_HEADS.filter((h) => input.only?.includes(h.id) ?? true);
  await fs.mkdir(config.out, { recursive: true });
  const set = await prepareDemoSet(input.set, config.arch, out);
  try {
    return await trainRows(input, heads, set);
  } finally {
    set.train.close();
  }
}

async function trainRows(
  input: AblationInput,
  heads: typeof ABLATION_HEADS,
  set: DemoSet,
): Promise<AblationResult> {
  const { config, out } = input;
  const raw = await set.evaluator.evaluate(
    rawPixelEmbedder(set.heldOut.height, set.heldOut.width),
    { onProgress: out.counter('raw-pixel baseline') },
  );
  const rows: AblationRow[] = [row('raw-pixels', 'raw-pixel cosine (no training)', raw)];
  for (const { id, head } of heads) {
    const loss = describeHead(head);
    out.line();
    out.line(`training ${config.arch} with ${loss} (${id}):`);
    const rowConfig: TrainingConfig = {
      ...config,
      head,
      out: path.join(config.out, id),
      evalEvery: undefined, // once, at the end
      checkpointEvery: config.epochs, // one checkpoint, at the end
    };
    try {
      const run = await runTraining({
        config: rowConfig,
        train: set.train,
        classes: set.classes,
        evaluator: set.evaluator,
        out,
      });
      throwIfStoppedEarly(
        run,
        `the rows trained so far are under ${config.out}; the table was not written`,
      );
      run.model.dispose();
      const final = run.history.evals.at(-1)!.result;
      rows.push({
        ...row(id, loss, final),
        head,
        finalLoss: run.history.epochs.at(-1)?.loss,
        trainingSeconds: run.seconds,
      });
      out.line(`${loss}: held-out ${formatAccuracy(final)}`);
    } catch (error) {
      if (!(error instanceof NonFiniteLossError)) throw error;
      // One loss diverging is a result of the comparison, not the end of it.
      rows.push({ id, loss, head, failed: `diverged at iteration ${error.iteration}` });
      out.line(`${loss}: ${error.message}`);
    }
  }

  const table = ablationTable(rows);
  const afsNote = describeAfsDefinition(rows);
  const about = info();
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.availableParallelism(),
    threads: about.threads,
    torch: about.torch.version,
    date: new Date().toISOString().slice(0, 10),
  };
  const files = {
    table: path.join(config.out, 'margin-ablation.md'),
    json: path.join(config.out, 'margin-ablation.json'),
    plot: path.join(config.out, 'margin-ablation.png'),
  };
  const trained = rows.slice(1);
  const spec = {
    title: `${config.arch} on ${set.classes} synthetic identities: held-out pairs by loss`,
    labels: trained.map((r) => ABLATION_HEADS.find((h) => h.id === r.id)!.short),
    colors: IDENTITY_COLOURS, // ten apart: one per row
    panelWidth: 520,
    panels: [
      {
        title: 'held-out accuracy (± std over folds)',
        yLabel: 'accuracy',
        values: trained.map((r) => r.accuracy),
        errors: trained.map((r) => r.std),
      },
      {
        title: 'Angular Fisher Score (lower is better)',
        yLabel: 'AFS',
        values: trained.map((r) => r.afs),
      },
    ],
  };
  const plot = await renderPlot({ kind: 'bar', spec });
  const settings = {
    arch: config.arch,
    epochs: config.epochs,
    batchSize: config.batchSize,
    optimizer: config.optimizer,
    schedule: config.schedule,
    lambda: config.lambda,
    cropPadding: config.cropPadding,
    flip: config.flip,
    seed: config.seed,
    set: input.set,
  };
  await writeFileAtomic(files.plot, plot);
  await writeFileAtomic(
    files.table,
    `${table}\n\n${config.arch}, ${config.epochs} epochs, seed ${config.seed}; ${machine.cpu}, ` +
      `${machine.threads} threads, libtorch ${machine.torch}, ${machine.date}\n\n${afsNote}\n`,
  );
  await writeFileAtomic(
    files.json,
    `${JSON.stringify({ rows, settings, machine, protocol: raw.protocol.description, afs: afsNote }, null, 2)}\n`,
  );
  return { rows, table, afsNote, files };
}
