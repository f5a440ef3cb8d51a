// A prepareImageStore run in its own process, for the interruption test: the source reads slowly
// (so the run is still going when the test kills it) and every durable shard prints one line.
// Usage: node prepare-child.js ROOT OUT IMAGES_PER_SHARD
import { folderSource } from '../../../lib/data/store/folder-source';
import type { ImageSource } from '../../../lib/data/store/image-source';
import { prepareImageStore } from '../../../lib/data/store/prepare-image-store';
import { CenterCrop } from '../../../lib/data/transforms/center-crop';
import { Resize } from '../../../lib/data/transforms/resize';

async function main(): Promise<void> {
  const [root, out, perShard] = process.argv.slice(2);
  const folder = folderSource(root);
  const slow: ImageSource = {
    ...folder,
    read: async (start, end) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return folder.read(start, end);
    },
  };
  await prepareImageStore({
    source: slow,
    out,
    transforms: [new Resize(12), new CenterCrop([12, 10])], // as the test's own runs
    imagesPerShard: Number(perShard),
    threads: 1,
    onProgress: (event) => {
      if (event.type === 'shard') console.log(JSON.stringify(event));
    },
  });
  console.log('done');
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
