// One side of bench/store.bench.ts: opens an image store and runs whole shuffled epochs with a
// random crop (padding 4) and flips through the DataLoader, in a fresh process so that its peak
// RSS is the loader's. Prints one JSON line.
// Usage: node dist/bench/store-epoch-child.js STORE_DIR BATCH EPOCHS
import { DataLoader } from '../lib/data/data-loader';
import { openImageStore } from '../lib/data/store/image-store';
import { RandomCrop } from '../lib/data/transforms/random-crop';
import { RandomHorizontalFlip } from '../lib/data/transforms/random-horizontal-flip';

async function main(): Promise<void> {
  const [dir, batchText, epochsText] = process.argv.slice(2);
  const rssStart = process.memoryUsage().rss;
  let started = performance.now();
  const store = await openImageStore(dir, { verify: false });
  const openSeconds = (performance.now() - started) / 1000;
  const loader = new DataLoader(store, {
    batchSize: Number(batchText),
    seed: 1,
    transforms: [
      new RandomCrop([store.height, store.width], { padding: 4 }),
      new RandomHorizontalFlip(),
    ],
  });
  const rssOpen = process.memoryUsage().rss;
  const epochSeconds: number[] = [];
  let checksum = 0;
  for (let epoch = 0; epoch < Number(epochsText); epoch++) {
    started = performance.now();
    let seen = 0;
    for await (const batch of loader.batches(epoch)) {
      seen += batch.n;
      checksum = (checksum + batch.images[batch.images.length >> 1] + batch.flip[0]) | 0;
    }
    if (seen !== store.n) throw new Error(`epoch ${epoch} served ${seen} of ${store.n} images`);
    epochSeconds.push((performance.now() - started) / 1000);
  }
  store.close();
  const cpu = process.cpuUsage();
  console.log(
    JSON.stringify({
      images: store.n,
      bytes: store.n * store.height * store.width * 3,
      openSeconds,
      epochSeconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      imagesPerSecond: store.n / Math.min(...epochSeconds),
      rssStartMb: rssStart / 2 ** 20,
      rssOpenMb: rssOpen / 2 ** 20,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      checksum,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
