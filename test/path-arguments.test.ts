// Every public function that takes a path refuses a non-path by name, as a TypeError, instead of
// Node's "The "paths[0]" argument must be of type string" from deep inside.
import { expect } from 'chai';
import {
  FileListDataset,
  ImageFolderDataset,
  LandmarksFile,
  LfwDataset,
  folderSource,
  latestCheckpoint,
  listCheckpoints,
  listSource,
  loadVerificationBin,
  openImageStore,
  openSource,
  readCheckpoint,
  readMetrics,
  recordIOSource,
  writeReport,
} from '../lib';
import { thrown } from './rejection';

type Loose = (...args: unknown[]) => unknown;

describe('path arguments of the public API', () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      'openImageStore',
      () => (openImageStore as Loose)(123),
      /for dir but received 123 of type number$/,
    ],
    ['recordIOSource', () => (recordIOSource as Loose)(123), /for recPath but received 123/],
    ['recordIOSource idx', () => (recordIOSource as Loose)('a.rec', { idx: 5 }), /for idx but/],
    ['loadVerificationBin', () => (loadVerificationBin as Loose)(123), /for file but received 123/],
    [
      'LfwDataset without pairs',
      () => new (LfwDataset as unknown as new (...a: unknown[]) => unknown)('lfw'),
      /^Expected a pairs file path for pairsFile but received a value of type undefined$/,
    ],
    [
      'LfwDataset root',
      () => new (LfwDataset as unknown as new (...a: unknown[]) => unknown)(1, 'p.txt'),
      /^Expected a folder path for root but received 1 of type number$/,
    ],
    [
      'listSource',
      () => (listSource as Loose)(123),
      /^Expected a list file path for listFile but received 123 of type number$/,
    ],
    [
      'FileListDataset root',
      () =>
        new (FileListDataset as unknown as new (...a: unknown[]) => unknown)('l.txt', { root: 2 }),
      /for root but received 2/,
    ],
    [
      'folderSource',
      () => (folderSource as Loose)(123),
      /^Expected a folder path for root but received 123/,
    ],
    [
      'ImageFolderDataset',
      () => new (ImageFolderDataset as unknown as new (...a: unknown[]) => unknown)(''),
      /^Expected a folder path for root but received ''$/,
    ],
    [
      'LandmarksFile',
      () => new (LandmarksFile as unknown as new (...a: unknown[]) => unknown)(null),
      /^Expected a landmark file path for file but received null$/,
    ],
    ['openSource', () => (openSource as Loose)(123), /for location but received 123/],
    [
      'readCheckpoint',
      () => (readCheckpoint as Loose)(123),
      /^Expected a checkpoint folder path for dirOrRoot but received 123/,
    ],
    [
      'listCheckpoints',
      () => (listCheckpoints as Loose)(123),
      /^Expected a checkpoints folder path for root but received 123/,
    ],
    ['latestCheckpoint', () => (latestCheckpoint as Loose)(123), /for root but received 123/],
    ['readMetrics', () => (readMetrics as Loose)(123), /for file but received 123/],
    [
      'writeReport',
      () => (writeReport as Loose)(123, {}),
      /^Expected a folder path for outDir but received 123/,
    ],
  ];
  for (const [what, call, pattern] of cases) {
    it(`${what} names its path argument`, async () => {
      const error = await thrown(call);
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message).to.match(pattern);
    });
  }
});
