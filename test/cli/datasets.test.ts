import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTrainSet, preparedStoreDir } from '../../lib/cli/datasets';
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
        `^${preparedStoreDir(cacheDir, data, { height: 96, width: 96 }, false)}.* \\(rank 0 prepares the training store there; ` +
          'every rank needs the same --data and the same --cache, or --out, path\\)$',
      ),
    );
  });

  // Two data sets sharing a cache folder: each keeps its store (a switch used to re-decode).
  it('names a store for its source, its input size and its alignment', () => {
    const size = { height: 112, width: 96 };
    const a = preparedStoreDir('c', 'data/casia', size, false);
    expect(path.dirname(a)).to.equal('c');
    expect(path.basename(a)).to.match(/^train-casia-[0-9a-f]{12}-112x96$/);
    expect(preparedStoreDir('c', path.resolve('data/casia'), size, false)).to.equal(a);
    expect(preparedStoreDir('c', 'data/casia/', size, false)).to.equal(a);
    expect(preparedStoreDir('c', 'other/casia', size, false)).to.not.equal(a);
    expect(preparedStoreDir('c', 'data/casia', { height: 96, width: 96 }, false)).to.not.equal(a);
    expect(preparedStoreDir('c', 'data/casia', size, true)).to.equal(`${a}-aligned`);
  });
});
