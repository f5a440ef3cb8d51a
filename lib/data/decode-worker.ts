// Worker thread of DecodePool: reads files, decodes them and runs the deterministic
// transforms, then hands the pixels back by transfer (no copy).
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { decodeImage } from './image-decoder';
import { transformFromSpec } from './transforms/transform-from-spec';
import type { DeterministicTransform, TransformSpec } from './transforms/transform';
import type { DecodeReply, DecodeRequest } from './decode-messages';

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

async function handle(request: DecodeRequest): Promise<void> {
  const transforms = transformsFor(request.specs);
  const reply: DecodeReply = { chunk: request.chunk, results: [] };
  const transfer: ArrayBuffer[] = [];
  for (const job of request.jobs) {
    try {
      let bytes: Uint8Array;
      try {
        bytes = job.bytes ?? fs.readFileSync(job.path);
      } catch (err) {
        throw new Error(
          `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        );
      }
      let image = await decodeImage(bytes);
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
  parentPort!.postMessage(reply, transfer);
}

parentPort!.on('message', (request: DecodeRequest) => {
  handle(request).catch((err: Error) => {
    parentPort!.postMessage({
      chunk: request.chunk,
      results: [],
      fatal: err.message,
    } satisfies DecodeReply);
  });
});
