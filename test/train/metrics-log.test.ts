// metrics.jsonl read back: a last line cut short by a kill is left out; any other bad line is
// an error naming the file and line.
import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetricsLog, readMetrics } from '../../lib/train/metrics-log';

async function logWith(text: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-metrics-'));
  const file = path.join(dir, 'metrics.jsonl');
  await fs.writeFile(file, text);
  return file;
}

describe('readMetrics', () => {
  it('leaves out a last line cut short', async () => {
    const file = await logWith('{"type":"batch","iteration":1}\n{"type":"batch","itera');
    expect(await readMetrics(file)).to.deep.equal([{ type: 'batch', iteration: 1 }]);
  });

  it('names the file and line of a damaged record', async () => {
    for (const bad of ['{"type":"ba', 'null', '[1]']) {
      const file = await logWith(
        `{"type":"batch","iteration":1}\n${bad}\n{"type":"epoch","iteration":1}\n`,
      );
      let error: Error | undefined;
      await readMetrics(file).catch((e: Error) => (error = e));
      expect(error?.message, bad).to.match(
        new RegExp(`^${file}:2: expected a JSON (record|object)`),
      );
    }
  });
});

describe('MetricsLog.open', () => {
  const line = (type: string, iteration: number, extra = '') =>
    `{"type":"${type}","iteration":${iteration}${extra}}\n`;

  it("a resume that closes an epoch drops what followed its checkpoint, the epoch's record too", async () => {
    // A checkpoint at an epoch's last step (5), then the epoch's record, then a kill.
    const written = [
      line('batch', 4),
      line('batch', 5),
      line('checkpoint', 5),
      line('epoch', 5, ',"epoch":1'),
      line('batch', 6),
      '{"type":"ba',
    ];
    const file = await logWith(written.join(''));
    const log = new MetricsLog(file);
    await log.open({ iteration: 5, closesEpoch: true });
    await log.close();
    expect(await fs.readFile(file, 'utf8')).to.equal(written.slice(0, 3).join(''));

    // Killed after the checkpoint was saved but before its record: that iteration's lines stay.
    const unrecorded = await logWith(line('batch', 5) + line('eval', 5) + line('batch', 6));
    const resumed = new MetricsLog(unrecorded);
    await resumed.open({ iteration: 5, closesEpoch: true });
    await resumed.close();
    expect(await fs.readFile(unrecorded, 'utf8')).to.equal(line('batch', 5) + line('eval', 5));
  });

  it('a resume at a closed epoch keeps every line of its iteration: nothing is written again', async () => {
    // The epoch's checkpoint, then the run's final evaluation at the same step.
    const written = [line('epoch', 3), line('checkpoint', 3), line('eval', 3), line('batch', 4)];
    const file = await logWith(written.join(''));
    const log = new MetricsLog(file);
    await log.open({ iteration: 3, closesEpoch: false });
    await log.close();
    expect(await fs.readFile(file, 'utf8')).to.equal(written.slice(0, 3).join(''));
  });

  it('a new run moves an earlier log aside, numbered, instead of writing over it', async () => {
    const file = await logWith(line('batch', 1));
    const dir = path.dirname(file);
    for (const run of [2, 3]) {
      const log = new MetricsLog(file);
      await log.open();
      await log.write({ type: 'batch', iteration: run });
      await log.close();
    }
    expect((await fs.readdir(dir)).sort()).to.deep.equal([
      'metrics.1.jsonl',
      'metrics.2.jsonl',
      'metrics.jsonl',
    ]);
    expect(await fs.readFile(path.join(dir, 'metrics.1.jsonl'), 'utf8')).to.equal(line('batch', 1));
    expect(await fs.readFile(path.join(dir, 'metrics.2.jsonl'), 'utf8')).to.equal(line('batch', 2));
    expect(await fs.readFile(file, 'utf8')).to.equal(line('batch', 3));
  });
});
