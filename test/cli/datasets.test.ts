import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTrainSet } from '../../lib/cli/datasets';
import { rejection } from '../rejection';

describe('the CLI training set', () => {
  it("names rank 0's store and the shared path when a later rank finds none", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-datasets-'));
    const data = path.join(dir, 'faces');
    await fs.mkdir(data);
    const cacheDir = path.join(dir, 'rank1-cache'); // not the folder rank 0 prepared into
    const error = await rejection(
      loadTrainSet(data, 'sphere-cnn4', { cacheDir, preparedElsewhere: true }),
    );
    expect(error.message).to.match(
      new RegExp(
        `^${path.join(cacheDir, 'train-96x96')}.* \\(rank 0 prepares the training store there; ` +
          'every rank needs the same --data and the same --cache, or --out, path\\)$',
      ),
    );
  });
});
