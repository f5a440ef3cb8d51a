// metrics.jsonl read back: a last line cut short by a kill is left out; any other bad line is
// an error naming the file and line.
import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { readMetrics } from '../../lib/train/metrics-log';

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
