// Values at the edges of what the text parsers take: labels past int32 (which an Int32Array
// would wrap to another identity), image numbers past 2^53, names that are paths.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileListDataset } from '../../lib/data/file-list-dataset';
import { PairsFile } from '../../lib/data/pairs-file';
import { MAX_CLASSES } from '../../lib/data/types';
import { tempDir } from './helpers';

function write(text: string): string {
  const file = path.join(tempDir(), 'list.txt');
  fs.writeFileSync(file, text);
  return file;
}

describe('parser limits', () => {
  it('FileListDataset refuses a label an Int32Array would wrap, or one past any dataset', () => {
    for (const label of ['4294967296', '2147483648', String(MAX_CLASSES)]) {
      const file = write(`a.jpg 0\nb.jpg ${label}\n`);
      expect(() => new FileListDataset(file), label).to.throw(
        new RegExp(`list\\.txt:2: expected a non-negative integer label but found '${label}'`),
      );
    }
    const top = new FileListDataset(write(`a.jpg ${MAX_CLASSES - 1}\n`));
    expect(Array.from(top.labels)).to.deep.equal([MAX_CLASSES - 1]);
    expect(top.classes).to.equal(MAX_CLASSES);
  });

  it('PairsFile refuses image numbers past 2^53 and names that reach outside the root', () => {
    const huge = write('1\nAnn 1 99999999999999999999\nAnn 1 Bob 2\n');
    expect(() => new PairsFile(huge)).to.throw(
      /list\.txt:2: expected a positive image number but found '99999999999999999999'/,
    );
    for (const name of ['..', '.', '../Ann', 'a/b', 'a\\b']) {
      const same = write(`1\n${name} 1 2\nAnn 1 Bob 2\n`);
      expect(() => new PairsFile(same), name).to.throw(
        `list.txt:2: expected an identity (a folder name) but found '${name}'`,
      );
      const other = write(`1\nAnn 1 2\nAnn 1 ${name} 2\n`);
      expect(() => new PairsFile(other), name).to.throw(
        `list.txt:3: expected an identity (a folder name) but found '${name}'`,
      );
    }
  });
});
