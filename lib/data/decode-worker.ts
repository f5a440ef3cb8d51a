// Worker thread of DecodePool: reads files (or takes the bytes it is sent), decodes them and
// runs the deterministic transforms, then hands the pixels back by transfer (no copy).
import { serveTasks } from '../util/worker-pool';
import type { DecodeReply, DecodeRequest } from './decode-messages';
import { decodeImage, loadSharp, maxFileBytes } from './image-decoder';
import { readImageFile } from './read-image-file';
import { transformFromSpec } from './transforms/transform-from-spec';
import type { DeterministicTransform, TransformSpec } from './transforms/transform';

// One worker per core, each decoding one image at a time: libvips' own threads per image would
// only contend with the other workers, and its operation cache only holds on to memory for
// images that never come back. (Both settings are process-wide in libvips.)
let tuned: Promise<void> | undefined;
function tuneSharp(): Promise<void> {
  tuned ??= loadSharp().then((sharp) => {
    sharp.concurrency(1);
    sharp.cache(false);
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
      let image = await decodeImage(bytes, { maxPixels: request.maxPixels });
      const landmarks = job.landmarks ? Float64Array.from(job.landmarks) : undefined;
      for (const t of transforms) image = t.apply(image, landmarks);
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
