// Worker thread of DecodePool: reads files (or takes the bytes it is sent), decodes them and
// runs the deterministic transforms, then hands the pixels back by transfer (no copy).
import { serveTasks } from '../util/worker-pool';
import type { DecodeReply, DecodeRequest } from './decode-messages';
import { decodeImage, loadSharp, maxFileBytes } from './image-decoder';
import { readImageFile } from './read-image-file';
import { applyTransforms } from './transforms/apply-transforms';
import { transformFromSpec } from './transforms/transform-from-spec';
import type { DeterministicTransform, TransformSpec } from './transforms/transform';

// One worker per core, each decoding one image at a time: libvips' own threads per image would
// only contend with the other workers, and its operation cache only holds on to memory for
// images that never come back. (Both settings are process-wide in libvips.)
//
// Then one pipeline on a 1024x1024 image, for glibc's malloc: it maps blocks over its mmap
// threshold (128 KiB at first) afresh and gives them back when freed, and only raises that
// threshold (to at most 32 MiB, the trim threshold to twice it) when such a block is freed.
// Left at 128 KiB, every 250x250 decode maps, faults in and unmaps its buffers again: about 30
// page faults and 0.4-0.8 ms of CPU per image here, a third of the decode; freeing the 3 MiB
// buffers of this one pipeline keeps them in the heap (about 10 faults). No pixel changes, and
// other allocators ignore it.
let tuned: Promise<void> | undefined;
function tuneSharp(): Promise<void> {
  tuned ??= loadSharp().then(async (sharp) => {
    sharp.concurrency(1);
    sharp.cache(false);
    const side = 1024;
    await sharp({ create: { width: side, height: side, channels: 3, background: '#000' } })
      .raw()
      .toBuffer();
  });
  return tuned;
}

let cachedKey = '';
let cached: DeterministicTransform[] = [];

function transformsFor(specs: TransformSpec[]): DeterministicTransform[] {
  const key = JSON.stringify(specs);
  if (key !== cachedKey) {
    cached = specs.map(transformFromSpec);
    cachedKey = key;
  }
  return cached;
}

async function handle(request: DecodeRequest) {
  await tuneSharp();
  const transforms = transformsFor(request.specs);
  const reply: DecodeReply = { results: [] };
  const transfer: ArrayBuffer[] = [];
  for (const job of request.jobs) {
    try {
      const bytes = job.bytes ?? readImageFile(job.path, maxFileBytes(request.maxPixels));
      const decoded = await decodeImage(bytes, { maxPixels: request.maxPixels });
      const landmarks = job.landmarks ? Float64Array.from(job.landmarks) : undefined;
      const image = applyTransforms(decoded, transforms, landmarks);
      // Own the bytes exactly, so the transfer moves no more than the image.
      const data =
        image.data.byteOffset === 0 && image.data.byteLength === image.data.buffer.byteLength
          ? image.data
          : image.data.slice();
      reply.results.push({
        index: job.index,
        ok: true,
        data,
        width: image.width,
        height: image.height,
      });
      transfer.push(data.buffer as ArrayBuffer);
    } catch (err) {
      reply.results.push({ index: job.index, ok: false, error: (err as Error).message });
    }
  }
  return { result: reply, transfer };
}

serveTasks(handle);
