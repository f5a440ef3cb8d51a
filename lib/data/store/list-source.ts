import * as crypto from 'node:crypto';
import { readRegularFile } from '../../util/regular-file';
import { FileListDataset } from '../file-list-dataset';
import { statAll } from '../load-images';
import type { ImageSource, SourceImage } from './image-source';

/**
 * A list file (`path label [x1 y1 ... x5 y5]` per line, FileListDataset's format) as an
 * ImageSource; classes are named by their numbers. Its fingerprint is the list's content and
 * every listed file's size and mtime.
 */
export function listSource(listFile: string, options: { root?: string } = {}): ImageSource {
  const list = new FileListDataset(listFile, options);
  return {
    kind: 'list',
    location: list.listFile,
    length: list.length,
    labels: list.labels,
    classNames: Array.from({ length: list.classes }, (_, i) => String(i)),
    async fingerprint() {
      const content = await readRegularFile(list.listFile, { noun: 'list file' });
      return {
        root: list.root,
        list: crypto.createHash('sha256').update(content).digest('hex'),
        files: await statAll(list.paths),
      };
    },
    async read(start, end): Promise<SourceImage[]> {
      const out: SourceImage[] = [];
      for (let i = start; i < end; i++) {
        out.push({
          name: list.paths[i],
          label: list.labels[i],
          landmarks: list.landmarks[i],
          where: `${list.listFile}:${list.lines[i]}`,
        });
      }
      return out;
    },
    async close() {},
  };
}
