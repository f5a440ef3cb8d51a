import * as path from 'node:path';
import { ImageFolderDataset } from '../image-folder-dataset';
import { statAll } from '../load-images';
import type { ImageSource, SourceImage } from './image-source';

/**
 * A folder per identity (ImageFolderDataset's layout and class order) as an ImageSource. Its
 * fingerprint is every file's path under the root, size and mtime.
 */
export function folderSource(root: string): ImageSource {
  const folder = new ImageFolderDataset(root);
  return {
    kind: 'folder',
    location: folder.root,
    length: folder.length,
    labels: folder.labels,
    classNames: folder.classNames,
    leftOut: folder.skipped,
    async fingerprint() {
      const stats = await statAll(folder.paths);
      return {
        files: folder.paths.map((p, i) => [path.relative(folder.root, p), ...stats[i]]),
      };
    },
    async read(start, end): Promise<SourceImage[]> {
      return folder.paths
        .slice(start, end)
        .map((p, i) => ({ name: p, label: folder.labels[start + i] }));
    },
    async close() {},
  };
}
