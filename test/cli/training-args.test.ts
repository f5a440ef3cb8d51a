import { expect } from 'chai';
import { info } from '../../lib/info';
import { parseArgs } from 'node:util';
import { commonOptions, parseArgsConfig, type ParsedValues } from '../../lib/cli/command';
import { EpochTable } from '../../lib/cli/epoch-table';
import { epochRows } from '../../lib/report/epoch-rows';
import {
  readTrainingArgs,
  trainingOptions,
  type ResumedSettings,
  type TrainingDefaults,
} from '../../lib/cli/training-args';

const defaults: TrainingDefaults = {
  arch: 'sphere20',
  iterations: 28000,
  batchSize: 64,
  lr: 0.1,
  schedule: 'multistep',
  warmup: 0,
  out: 'run',
};

function read(args: string[], resumed?: ResumedSettings) {
  const { values } = parseArgs({
    args,
    options: parseArgsConfig({ ...trainingOptions(defaults), ...commonOptions }),
    strict: true,
  });
  return readTrainingArgs(values as ParsedValues, defaults, resumed);
}

// A checkpoint's settings, none of them the defaults.
const resumed: ResumedSettings = {
  arch: 'sphere-cnn4',
  head: { kind: 'cos', m: 0.3, scale: 20 },
  embeddingDim: 64,
  iterations: 90,
  batchSize: 8,
  optimizer: { lr: 0.02, momentum: 0.8, weightDecay: 1e-3, nesterov: true },
  schedule: { kind: 'cosine', minLr: 0.001, warmup: 5 },
  lambda: false,
  seed: 7,
  flip: false,
  cropPadding: 3,
};

describe('training flags', () => {
  it('default to the paper: sphere head m=4, multistep at 16k/24k, lambda annealing', () => {
    const config = read([]);
    expect(config.head).to.deep.equal({ kind: 'sphere', m: 4 });
    expect(config.iterations).to.equal(28000);
    // Recorded whole (summary.json holds the config), defaults included.
    expect(config.schedule).to.deep.equal({
      kind: 'multistep',
      milestones: [16000, 24000],
      gamma: 0.1,
      warmup: 0,
    });
    expect(config.lambda).to.deep.equal({ base: 1000, gamma: 0.12, power: 1, min: 5 });
    expect(config.optimizer).to.deep.equal({
      lr: 0.1,
      momentum: 0.9,
      weightDecay: 5e-4,
      nesterov: false,
    });
  });

  it('read every flag into the trainer options', () => {
    const config = read([
      '--arch',
      'sphere-cnn4',
      '--head',
      'cos',
      '--m',
      '0.4',
      '--scale',
      '30',
      '--epochs',
      '7',
      '--batch-size',
      '16',
      '--lr',
      '0.05',
      '--nesterov',
      '--schedule',
      'cosine',
      '--warmup',
      '30',
      '--min-lr',
      '0.001',
      '--eval-every',
      '2',
      '--checkpoint-every',
      '100it',
      '--keep',
      '5',
      '--no-flip',
      '--crop-padding',
      '6',
      '--seed',
      '9',
      '--device',
      'cpu',
      '--threads',
      '2',
      '--out',
      'x',
    ]);
    expect(config.arch).to.equal('sphere-cnn4');
    expect(config.head).to.deep.equal({ kind: 'cos', m: 0.4, scale: 30 });
    expect([config.epochs, config.iterations, config.batchSize]).to.deep.equal([7, undefined, 16]);
    expect(config.schedule).to.deep.equal({ kind: 'cosine', minLr: 0.001, warmup: 30 });
    expect(config.evalEvery).to.equal(2);
    expect(config.cropPadding).to.equal(6);
    expect(read([]).cropPadding).to.equal(0);
    expect(config.checkpointEvery).to.deep.equal({ iterations: 100 });
    expect([config.keep, config.flip, config.seed, config.device, config.threads]).to.deep.equal([
      5,
      false,
      9,
      'cpu',
      2,
    ]);
    expect(read(['--milestones', '100,200']).schedule).to.deep.equal({
      kind: 'multistep',
      gamma: 0.1,
      warmup: 0,
      milestones: [100, 200],
    });
    expect(read(['--no-lambda']).lambda).to.equal(false);
  });

  it("keep a resumed run's settings where no flag gives them", () => {
    const config = read([], resumed);
    expect(config).to.deep.include({
      arch: 'sphere-cnn4',
      head: { kind: 'cos', m: 0.3, scale: 20 },
      embeddingDim: 64,
      epochs: undefined,
      iterations: 90,
      batchSize: 8,
      optimizer: { lr: 0.02, momentum: 0.8, weightDecay: 1e-3, nesterov: true },
      schedule: { kind: 'cosine', minLr: 0.001, warmup: 5 },
      lambda: false,
      seed: 7,
      flip: false,
      cropPadding: 3,
    });
  });

  it("change a resumed run's setting where a flag gives it, keeping the others", () => {
    const longer = read(['--epochs', '4', '--lr', '0.05', '--min-lr', '0'], resumed);
    expect([longer.epochs, longer.iterations]).to.deep.equal([4, undefined]);
    expect(longer.optimizer).to.deep.equal({
      lr: 0.05,
      momentum: 0.8,
      weightDecay: 1e-3,
      nesterov: true,
    });
    expect(longer.schedule).to.deep.equal({ kind: 'cosine', minLr: 0, warmup: 5 });
    // Another kind of schedule takes its own defaults; the warm-up is the run's.
    const multistep = read(['--schedule', 'multistep'], resumed);
    expect(multistep.schedule).to.deep.equal({
      kind: 'multistep',
      milestones: [16000, 24000],
      gamma: 0.1,
      warmup: 5,
    });
    // A run that annealed lambda keeps the parts no flag gives; one that did not, turns it on
    // only with a lambda flag.
    const annealed = { ...resumed, head: { kind: 'sphere', m: 4 } as const };
    const schedule = { base: 500, gamma: 0.3, power: 2, min: 4 };
    expect(read(['--lambda-min', '2'], { ...annealed, lambda: schedule }).lambda).to.deep.equal({
      ...schedule,
      min: 2,
    });
    expect(read([], annealed).lambda).to.equal(false);
    expect(read(['--lambda-gamma', '0.5'], annealed).lambda).to.deep.equal({
      base: 1000,
      gamma: 0.5,
      power: 1,
      min: 5,
    });
    // Older checkpoints record no batch size and no loader: those are the defaults.
    const older = { ...resumed, batchSize: undefined, flip: undefined, cropPadding: undefined };
    expect(read([], older)).to.deep.include({ batchSize: 64, flip: true, cropPadding: 0 });
  });

  it('read the softmax head, the easy margin and the embedding size', () => {
    expect(read(['--head', 'softmax']).head).to.deep.equal({ kind: 'softmax' });
    expect(read(['--head', 'arc', '--easy-margin']).head).to.deep.equal({
      kind: 'arc',
      m: 0.5,
      scale: 64,
      easyMargin: true,
    });
    expect(read([]).embeddingDim).to.equal(512);
    expect(read(['--embedding-dim', '3']).embeddingDim).to.equal(3);
  });

  it('reject bad values naming the flag', () => {
    expect(() => read(['--epochs', '0'])).to.throw(
      /--epochs expects an integer >= 1 but received '0'/,
    );
    expect(() => read(['--epochs', '2', '--iterations', '5'])).to.throw(/not both/);
    // Past the library's limits: a usage error naming the flag, before any data is read.
    for (const [flag, value, range] of [
      ['--batch-size', '2000000', '1..1048576'],
      ['--embedding-dim', '100000000', '1..65536'],
      ['--threads', '99999', '1..1024'],
    ]) {
      expect(() => read([flag, value])).to.throw(
        `${flag} expects an integer in ${range} but received '${value}'`,
      );
    }
    expect(() => read(['--lr', 'fast'])).to.throw(/--lr expects a number but received 'fast'/);
    // Decimal only: Number() would read these as 16, 8, 2 and 0.
    for (const text of ['0x10', '0o10', '0b10', '']) {
      expect(() => read(['--lr', text]), text).to.throw(
        `--lr expects a number but received '${text}'`,
      );
    }
    for (const [text, value] of [
      ['.5', 0.5],
      ['2.', 2],
      ['1e-3', 0.001],
      ['+3E1', 30],
    ] as const) {
      expect(read(['--lr', text]).optimizer.lr, text).to.equal(value);
    }
    expect(() => read(['--lr=-1'])).to.throw(/--lr expects a positive number/);
    expect(() => read(['--arch', 'resnet'])).to.throw(/--arch expects one of sphere-cnn4/);
    expect(() => read(['--head', 'sphere', '--m', '7'])).to.throw(/--m .* 1\.\.6/);
    expect(() => read(['--m', '2.5'])).to.throw(/--m expects an integer/);
    expect(() => read(['--scale', '30'])).to.throw(/--scale applies to the cos and arc heads/);
    expect(() => read(['--milestones', '200,100'])).to.throw(/--milestones expects increasing/);
    expect(() => read(['--eval-every', 'often'])).to.throw(/--eval-every expects/);
    // Flags that another setting makes meaningless are refused, not ignored.
    const ignored: [string[], string][] = [
      [['--schedule', 'cosine', '--milestones', '5'], '--milestones applies to the multistep'],
      [['--schedule', 'constant', '--gamma', '0.5'], '--gamma applies to the multistep'],
      [['--min-lr', '0.001'], '--min-lr applies to the cosine schedule'],
      [['--no-lambda', '--lambda-base', '5'], '--lambda-base applies to lambda annealing'],
      [
        ['--head', 'cos', '--lambda-base', '5'],
        "--lambda-base applies to the sphere head's lambda annealing; the cos head has none",
      ],
      [['--head', 'arc', '--no-lambda'], '--no-lambda applies to the sphere head'],
      [['--head', 'softmax', '--lambda-min', '1'], '--lambda-min applies to the sphere head'],
      [['--resume', '--force'], 'give --resume (continue the run) or --force'],
    ];
    for (const [args, message] of ignored)
      expect(() => read(args), args.join(' ')).to.throw(message);
    expect(() => read(['--crop-padding=-2'])).to.throw(/--crop-padding expects an integer >= 0/);
    // A CUDA device this build lacks is refused with the flags, before any data is read.
    if (!info().cuda.available) {
      expect(() => read(['--device', 'cuda'])).to.throw(
        /^--device cuda: this libtorch has no CUDA/,
      );
    }
    expect(() => read(['--head', 'softmax', '--m', '2'])).to.throw(
      /--m does not apply to the softmax head/,
    );
    expect(() => read(['--head', 'cos', '--easy-margin'])).to.throw(
      /--easy-margin applies to the arc head, not cos/,
    );
    expect(() => read(['--embedding-dim', '0'])).to.throw(
      /--embedding-dim expects an integer in 1\.\.65536/,
    );
  });
});

/** A Trainer epoch record with the figures the table and the report rows read. */
const epochRecord = (epoch: number, iteration: number, loss: number, accuracy = 0) => ({
  epoch,
  iteration,
  loss,
  accuracy,
  images: 0,
  seconds: 1,
  imagesPerSecond: 1,
  lr: 0.1,
});

describe('epoch table', () => {
  const evalRecord = (epoch: number, iteration: number, accuracy: number) => ({
    epoch,
    iteration,
    seconds: 1,
    result: { accuracy },
  });

  it("prints the seed's three columns with the accuracy on its epoch's row", () => {
    const lines: string[] = [];
    const table = new EpochTable((l) => lines.push(l));
    table.epoch(epochRecord(1, 10, 6.8361));
    table.epoch(epochRecord(2, 20, 6.6749));
    table.eval(evalRecord(2, 20, 0.584));
    table.epoch(epochRecord(3, 30, 6.5));
    table.flush();
    expect(lines).to.deep.equal([
      '| Epoch | Loss   | Test Acc. |',
      '|-------|--------|-----------|',
      '| 01    | 6.836  |           |',
      '| 02    | 6.675  | 0.5840    |',
      '| 03    | 6.500  |           |',
    ]);
  });

  it('keeps a large loss within its column', () => {
    const lines: string[] = [];
    const table = new EpochTable((l) => lines.push(l));
    const losses = [123.4567, 98765.4, 123456.7, 1234567.8, 1.5e21];
    losses.forEach((loss, k) => table.epoch(epochRecord(k + 1, 10 * (k + 1), loss)));
    table.flush();
    expect(lines.slice(2)).to.deep.equal([
      '| 01    | 123.46 |           |',
      '| 02    | 98765  |           |',
      '| 03    | 123457 |           |',
      '| 04    | 1.23e6 |           |',
      '| 05    | 1.5e21 |           |',
    ]);
    // Each figure reads back as the loss to the precision shown.
    lines.slice(2).forEach((line, k) => {
      const shown = Number(line.split('|')[2]);
      expect(Math.abs(shown - losses[k]) / losses[k]).to.be.below(0.01);
    });
  });

  it('prints the header with the first row, so a line printed before it comes first', () => {
    const lines: string[] = [];
    const table = new EpochTable((l) => lines.push(l));
    table.flush();
    lines.push('a note');
    table.epoch(epochRecord(4, 40, 1));
    table.flush();
    expect(lines[0]).to.equal('a note');
    expect(lines[1]).to.match(/^\| Epoch/);
  });

  it('gives evaluations by iterations their own rows, in the epoch they ran in', () => {
    const lines: string[] = [];
    const table = new EpochTable((l) => lines.push(l), { iterations: true });
    // 8 steps an epoch, evaluations every 4: within epoch 1, then at its last step (the
    // Trainer evaluates before it closes the epoch), then within epoch 2.
    table.eval(evalRecord(0, 4, 0.6));
    table.flush(); // the next batch
    table.eval(evalRecord(1, 8, 0.65));
    table.epoch(epochRecord(1, 8, 3.446));
    table.flush();
    table.eval(evalRecord(1, 12, 0.7));
    table.flush();
    expect(lines).to.deep.equal([
      '| Epoch | Iter.   | Loss   | Test Acc. |',
      '|-------|---------|--------|-----------|',
      '| 01    | 4       |        | 0.6000    |',
      '| 01    | 8       | 3.446  | 0.6500    |',
      '| 02    | 12      |        | 0.7000    |',
    ]);
  });
});

describe('report rows', () => {
  const epoch = (n: number, iteration: number, loss: number) =>
    epochRecord(n, iteration, loss, 0.5);

  it('puts an evaluation on the row of its iteration, or on its own at the fractional epoch', () => {
    // 8 steps an epoch; evaluations at 4 (within epoch 1), 8 (its end) and 12.
    const rows = epochRows(
      {
        epochs: [epoch(1, 8, 3.4), epoch(2, 16, 2.9)],
        evals: [
          { iteration: 4, epoch: 0, accuracy: 0.6 },
          { iteration: 8, epoch: 1, accuracy: 0.65 },
          { iteration: 12, epoch: 1, accuracy: 0.7 },
        ],
      },
      8,
    );
    expect(rows).to.deep.equal([
      { epoch: 0.5, iteration: 4, testAccuracy: 0.6 },
      { epoch: 1, iteration: 8, trainLoss: 3.4, trainAccuracy: 0.5, testAccuracy: 0.65 },
      { epoch: 1.5, iteration: 12, testAccuracy: 0.7 },
      { epoch: 2, iteration: 16, trainLoss: 2.9, trainAccuracy: 0.5 },
    ]);
  });
});
