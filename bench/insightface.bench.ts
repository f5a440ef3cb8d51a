// `npm run bench -- insightface`: reading insightface's formats at their real sizes.
// - a .rec of BENCH_REC_IMAGES records (default 100,000; CASIA-WebFace has 490,623) of ~7 KB
//   (faces_webface_112x112's mean), written once under the temp folder in insightface's layout:
//   opening it with and without its .idx (every image header read for the labels), then reading
//   every image's bytes in chunks of 512 as the image store's prepare does; peak RSS after;
// - a verification .bin the size of lfw.bin (12,000 JPEGs of 112x112, 6000 pairs), written both
//   as Python 2 does (BINSTRING) and at protocol 4 (BINBYTES): unpickling it, then loading it
//   (unpickle + decode on the pool).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recordIOSource } from '../lib/data/formats/recordio-source';
import { loadVerificationBin } from '../lib/data/insightface-bin';
import { parseVerificationBin } from '../lib/data/formats/verification-bin';
import { Random } from '../lib/util/random';
import { encodeJpeg } from '../lib/synth/jpeg';
import { describeMachine, median } from './machine';

const IMAGES = Number(process.env.BENCH_REC_IMAGES ?? 100_000);
const CLASSES = Math.max(1, Math.floor(IMAGES / 47)); // CASIA: 47 images per identity
const DIR = path.join(os.tmpdir(), `sphereface-bench-rec-${IMAGES}`);
const PAIRS = 6000;

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// One record the way dmlc's RecordIOWriter frames it (payloads here never hold the magic word
// at an aligned offset: their bytes stay below 0xc0).
function frame(payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0xced7230a, 0);
  head.writeUInt32LE(payload.length, 4);
  const pad = Buffer.alloc((4 - (payload.length % 4)) % 4);
  return Buffer.concat([head, payload, pad]);
}

function irHeader(labels: number[] | number): Buffer {
  const list = Array.isArray(labels) ? labels : [];
  const b = Buffer.alloc(24 + 4 * list.length);
  b.writeUInt32LE(list.length, 0);
  b.writeFloatLE(Array.isArray(labels) ? 0 : labels, 4);
  list.forEach((l, i) => b.writeFloatLE(l, 24 + 4 * i));
  return b;
}

function ensureRec(): string {
  const rec = path.join(DIR, 'train.rec');
  if (fs.existsSync(path.join(DIR, '.complete'))) return rec;
  fs.mkdirSync(DIR, { recursive: true });
  const rng = new Random(7);
  const out = fs.openSync(rec, 'w');
  const idx: string[] = [];
  let offset = 0;
  const write = (key: number, payload: Buffer) => {
    const bytes = frame(payload);
    fs.writeSync(out, bytes);
    idx.push(`${key}\t${offset}\n`);
    offset += bytes.length;
  };
  write(0, irHeader([IMAGES + 1, IMAGES + 1 + CLASSES]));
  const perClass = Math.ceil(IMAGES / CLASSES);
  for (let i = 0; i < IMAGES; i++) {
    const image = Buffer.alloc(5000 + rng.int(4000));
    for (let k = 0; k + 4 <= image.length; k += 4) {
      image.writeUInt32LE(rng.nextUint32() & 0x3f3f3f3f, k);
    }
    write(i + 1, Buffer.concat([irHeader(Math.floor(i / perClass)), image]));
  }
  for (let c = 0; c < CLASSES; c++) {
    const a = 1 + c * perClass;
    write(IMAGES + 1 + c, irHeader([a, Math.min(IMAGES + 1, a + perClass)]));
  }
  fs.closeSync(out);
  fs.writeFileSync(path.join(DIR, 'train.idx'), idx.join(''));
  fs.writeFileSync(path.join(DIR, 'property'), `${CLASSES},112,112`);
  fs.writeFileSync(path.join(DIR, '.complete'), '');
  return rec;
}

async function benchRec(): Promise<void> {
  const rec = ensureRec();
  const size = fs.statSync(rec).size;
  console.log(`${rec}: ${IMAGES} images, ${CLASSES} classes, ${(size / 2 ** 20).toFixed(0)} MiB`);
  fs.readFileSync(path.join(DIR, 'train.idx')); // warm
  const opens: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t = process.hrtime.bigint();
    const source = await recordIOSource(rec);
    opens.push(seconds(t));
    await source.close();
  }
  const open = median(opens);
  console.log(
    `open with .idx (labels of every image): ${open.toFixed(2)} s, ${(IMAGES / open).toFixed(0)} img/s`,
  );

  const noIdx = path.join(DIR, 'scan.idx-absent');
  fs.mkdirSync(noIdx, { recursive: true });
  const linked = path.join(noIdx, 'train.rec');
  if (!fs.existsSync(linked)) fs.symlinkSync(rec, linked);
  let t = process.hrtime.bigint();
  const scanned = await recordIOSource(linked);
  const scan = seconds(t);
  await scanned.close();
  console.log(
    `open without .idx (scan, then labels): ${scan.toFixed(2)} s, ${(IMAGES / scan).toFixed(0)} img/s`,
  );

  const source = await recordIOSource(rec);
  t = process.hrtime.bigint();
  let bytes = 0;
  for (let start = 0; start < source.length; start += 512) {
    const images = await source.read(start, Math.min(source.length, start + 512));
    for (const image of images) bytes += image.bytes!.length;
  }
  const read = seconds(t);
  await source.close();
  console.log(
    `read every image in chunks of 512: ${read.toFixed(2)} s, ${(IMAGES / read).toFixed(0)} img/s, ${(bytes / 2 ** 20 / read).toFixed(0)} MiB/s`,
  );
}

function pickleBin(images: Buffer[], same: boolean[], python2: boolean): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, python2 ? 2 : 4, 0x5d, 0x28])];
  for (const image of images) {
    const head = Buffer.alloc(5);
    head[0] = python2 ? 0x54 : 0x42; // BINSTRING : BINBYTES
    head.writeUInt32LE(image.length, 1);
    parts.push(head, image);
  }
  parts.push(Buffer.from([0x65, 0x5d, 0x28]));
  parts.push(Buffer.from(same.map((s) => (s ? 0x88 : 0x89))));
  parts.push(Buffer.from([0x65, 0x86, 0x2e]));
  return Buffer.concat(parts);
}

async function benchBin(): Promise<void> {
  const rng = new Random(3);
  const rgb = Uint8Array.from({ length: 112 * 112 * 3 }, (_, i) => ((i % 336) + rng.int(40)) & 255);
  const jpeg = await encodeJpeg(rgb, 112, 112);
  const images = Array.from({ length: 2 * PAIRS }, () => Buffer.from(jpeg));
  const same = Array.from({ length: PAIRS }, (_, i) => i % 2 === 0);
  for (const python2 of [true, false]) {
    const bytes = pickleBin(images, same, python2);
    const file = path.join(os.tmpdir(), `sphereface-bench-${python2 ? 'py2' : 'p4'}.bin`);
    fs.writeFileSync(file, bytes);
    const times: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const t = process.hrtime.bigint();
      parseVerificationBin(fs.readFileSync(file), file);
      times.push(seconds(t));
    }
    console.log(
      `unpickle ${python2 ? 'Python 2 (BINSTRING)' : 'protocol 4 (BINBYTES)'}, ${(bytes.length / 2 ** 20).toFixed(1)} MiB: ${(median(times) * 1000).toFixed(0)} ms`,
    );
    if (!python2) {
      const t = process.hrtime.bigint();
      const loaded = await loadVerificationBin(file, {});
      const load = seconds(t);
      console.log(
        `loadVerificationBin (unpickle + decode ${loaded.images.n} JPEGs of 112x112 on the pool): ${load.toFixed(2)} s, ${(loaded.images.n / load).toFixed(0)} img/s`,
      );
    }
    fs.rmSync(file);
  }
}

async function main(): Promise<void> {
  console.log(describeMachine());
  await benchRec();
  console.log(`peak RSS after the .rec: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  await benchBin();
  console.log(`peak RSS after the .bin: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
