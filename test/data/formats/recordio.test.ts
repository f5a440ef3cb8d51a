import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseIRHeader, classLabel } from '../../../lib/data/formats/ir-header';
import { RecordIOFile, readRecord } from '../../../lib/data/formats/recordio';
import { MAGIC_BYTES, irPayload, recordBytes } from './recordio-writer';

async function tempFile(bytes: number[] | Uint8Array): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-recordio-'));
  const file = path.join(dir, 'x.rec');
  await fs.writeFile(file, Uint8Array.from(bytes));
  return file;
}

async function readAll(file: string): Promise<Uint8Array[]> {
  const rec = await RecordIOFile.open(file);
  try {
    const reader = rec.reader(16); // a tiny block so that records straddle blocks
    const out: Uint8Array[] = [];
    for (let pos = 0; pos < rec.size;) {
      const r = await readRecord(reader, pos);
      out.push(r.payload);
      pos = r.next;
    }
    return out;
  } finally {
    await rec.close();
  }
}

async function readError(file: string, offset = 0): Promise<Error> {
  const rec = await RecordIOFile.open(file);
  try {
    await readRecord(rec.reader(), offset, { name: 'key 7' });
  } catch (err) {
    return err as Error;
  } finally {
    await rec.close();
  }
  throw new Error('expected the read to fail');
}

describe('RecordIO container', () => {
  it('reads whole records written byte by byte from the format, padding skipped', async () => {
    // magic | lrec = length 5, cflag 0 | 5 bytes | 3 zero bytes of padding; then length 4.
    const file = await tempFile([
      0x0a, 0x23, 0xd7, 0xce, 0x05, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 0, 0, 0, 0x0a, 0x23, 0xd7,
      0xce, 0x04, 0x00, 0x00, 0x00, 9, 8, 7, 6,
    ]);
    const records = await readAll(file);
    expect(records.map((r) => Array.from(r))).to.deep.equal([
      [1, 2, 3, 4, 5],
      [9, 8, 7, 6],
    ]);
  });

  it('joins a record split where its payload holds the magic word at an aligned offset', async () => {
    // Payload aa bb cc dd | 0a 23 d7 ce | 11 22 33: the writer cuts at offset 4 and drops the magic.
    const payload = [0xaa, 0xbb, 0xcc, 0xdd, ...MAGIC_BYTES, 0x11, 0x22, 0x33];
    const expected = [
      // part 1: cflag 1 (0x20000000), length 4
      0x0a, 0x23, 0xd7, 0xce, 0x04, 0x00, 0x00, 0x20, 0xaa, 0xbb, 0xcc, 0xdd,
      // part 3: cflag 3 (0x60000000), length 3, one byte of padding
      0x0a, 0x23, 0xd7, 0xce, 0x03, 0x00, 0x00, 0x60, 0x11, 0x22, 0x33, 0x00,
    ];
    expect(recordBytes(Uint8Array.from(payload))).to.deep.equal(expected);
    const file = await tempFile(expected);
    const [record] = await readAll(file);
    expect(Array.from(record)).to.deep.equal(payload);
  });

  it('joins first, middle and last parts, empty ones included, and leaves unaligned magic alone', async () => {
    const cases = [
      [...MAGIC_BYTES, 1, 2, 3], // magic at 0: an empty first part
      [1, 2, 3, 4, ...MAGIC_BYTES, ...MAGIC_BYTES, 5], // two in a row: an empty middle part
      [1, 2, 3, 4, ...MAGIC_BYTES], // magic at the end: an empty last part
      [1, ...MAGIC_BYTES, 2, 3, 4], // magic at offset 1: not cut
      [...MAGIC_BYTES],
    ];
    const bytes = cases.flatMap((c) => recordBytes(Uint8Array.from(c)));
    // The writer really did split all but the unaligned case.
    expect(recordBytes(Uint8Array.from(cases[1])).length).to.equal(12 + 8 + 8 + 4);
    const records = await readAll(await tempFile(bytes));
    expect(records.map((r) => Array.from(r))).to.deep.equal(cases);
  });

  it('reads a prefix of a record and still finds the next record', async () => {
    const big = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    big.set(MAGIC_BYTES, 400); // split in the middle
    const bytes = [...recordBytes(big), ...recordBytes(Uint8Array.from([7]))];
    const file = await tempFile(bytes);
    const rec = await RecordIOFile.open(file);
    try {
      const first = await readRecord(rec.reader(64), 0, { limit: 10 });
      expect(Array.from(first.payload)).to.deep.equal(Array.from(big.subarray(0, 10)));
      expect(first.length).to.equal(1000);
      const second = await readRecord(rec.reader(64), first.next);
      expect(Array.from(second.payload)).to.deep.equal([7]);
      expect(second.next).to.equal(rec.size);
      expect(await rec.scanOffsets()).to.deep.equal([0, first.next]);
    } finally {
      await rec.close();
    }
  });

  it('names the file, record and offset for a bad magic word', async () => {
    const bytes = recordBytes(Uint8Array.from([1, 2, 3, 4]));
    bytes[0] = 0x0b;
    const file = await tempFile(bytes);
    const err = await readError(file);
    expect(err.message).to.contain(file);
    expect(err.message).to.contain('record key 7 at offset 0');
    expect(err.message).to.match(/magic word 0xced7230a at offset 0 but found 0xced7230b/);
  });

  it('refuses a length past the end of the file before reading it', async () => {
    const bytes = recordBytes(Uint8Array.from([1, 2, 3, 4]));
    bytes[4] = 0xff;
    bytes[5] = 0xff;
    bytes[6] = 0xff;
    bytes[7] = 0x1f; // length 2^29 - 1, cflag 0
    const err = await readError(await tempFile(bytes));
    expect(err.message).to.match(/declares 536870911 bytes, past the end of the file \(12 bytes\)/);
  });

  it('refuses a truncated record, a flag out of sequence and an offset past the end', async () => {
    const whole = recordBytes(Uint8Array.from([1, 2, 3, 4, 5, 6]));
    expect((await readError(await tempFile(whole.slice(0, 13)))).message).to.match(
      /declares 6 bytes, past the end of the file \(13 bytes\)/,
    );
    expect((await readError(await tempFile(whole.slice(0, 6)))).message).to.match(
      /file ends at offset 6, inside the header of the part at offset 0/,
    );
    const middleFirst = [...whole];
    middleFirst[7] = 0x40; // cflag 2 where a record starts
    expect((await readError(await tempFile(middleFirst))).message).to.match(
      /continuation flag 2 where a whole record \(0\) or a first part \(1\) was expected/,
    );
    const split = recordBytes(Uint8Array.from([1, 2, 3, 4, ...MAGIC_BYTES, 5]));
    split[12 + 7] = 0x00; // the last part says "whole record"
    expect((await readError(await tempFile(split))).message).to.match(
      /part at offset 12 has continuation flag 0 where a middle \(2\) or last \(3\) part/,
    );
    expect((await readError(await tempFile(whole), 64)).message).to.match(
      /record key 7 at offset 64: the offset is past the end of the file \(16 bytes\)/,
    );
  });
});

describe('IRHeader', () => {
  it('parses flag, label, ids and the image after a single label', () => {
    const image = Uint8Array.from([0xff, 0xd8, 0xff, 1, 2]);
    const payload = irPayload({ label: 42, id: 2 ** 40 + 3, id2: 9 }, image);
    const h = parseIRHeader(payload, 'r');
    expect(h).to.include({ flag: 0, label: 42, dataOffset: 24 });
    expect(h.id).to.equal(BigInt(2 ** 40 + 3));
    expect(h.id2).to.equal(9n);
    expect(Array.from(payload.subarray(h.dataOffset))).to.deep.equal(Array.from(image));
    expect(classLabel(h, 'r')).to.equal(42);
  });

  it('reads flag > 0 labels after the header and takes the first as the class', () => {
    const payload = irPayload({ labels: [5, 7.5, 9] }, Uint8Array.from([1, 2, 3]));
    const h = parseIRHeader(payload, 'r');
    expect(h.flag).to.equal(3);
    expect(h.label).to.equal(0);
    expect(Array.from(h.labels!)).to.deep.equal([5, 7.5, 9]);
    expect(h.dataOffset).to.equal(36);
    expect(Array.from(payload.subarray(h.dataOffset))).to.deep.equal([1, 2, 3]);
    expect(classLabel(h, 'r')).to.equal(5);
  });

  it('refuses a short record, an absurd flag and a label that is no class', () => {
    expect(() => parseIRHeader(new Uint8Array(20), 'x.rec: record key 3')).to.throw(
      /x.rec: record key 3: the record holds 20 bytes, fewer than the 24-byte/,
    );
    const absurd = irPayload({ label: 1 }, new Uint8Array(8));
    new DataView(absurd.buffer).setUint32(0, 4_000_000_000, true);
    expect(() => parseIRHeader(absurd, 'r')).to.throw(
      /flag 4000000000 announces 4000000000 float32 labels .* only 8 bytes after its header/,
    );
    for (const label of [2.5, -1, NaN]) {
      const h = parseIRHeader(irPayload({ label }, new Uint8Array(0)), 'r');
      expect(() => classLabel(h, 'r')).to.throw(/expected a non-negative integer label/);
    }
  });
});
