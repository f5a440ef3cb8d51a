import * as fs from 'node:fs';
import * as path from 'node:path';
import { recordIOSource } from '../formats/recordio-source';
import { folderSource } from './folder-source';
import type { ImageSource } from './image-source';
import { listSource } from './list-source';
import { MANIFEST_FILE } from './manifest';
import { expectPath } from '../../util/expect';

/** The ImageSource a path names: a folder per identity, an insightface .rec, or a file list. */
export async function openSource(location: string): Promise<ImageSource> {
  expectPath(location, 'location', 'a folder, list file or .rec file path');
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(location);
  } catch {
    throw new Error(`image source ${location} does not exist`);
  }
  if (stat.isDirectory()) {
    if (fs.existsSync(path.join(location, MANIFEST_FILE))) {
      throw new Error(`${location} is an image store already: open it with openImageStore`);
    }
    return folderSource(location);
  }
  if (/\.rec$/i.test(location)) return recordIOSource(location);
  // A .idx beside a .rec is its record index, not a list of images.
  const rec = location.replace(/\.idx$/i, '.rec');
  if (rec !== location && fs.existsSync(rec)) {
    throw new Error(`${location} belongs to ${rec}: give the .rec (its .idx is read beside it)`);
  }
  return listSource(location);
}
