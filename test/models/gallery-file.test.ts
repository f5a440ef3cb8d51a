// A gallery file's header is checked as its embeddings are: a name damaged in place would
// otherwise be searched and reported as another person.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readGalleryFile, writeGalleryFile } from '../../lib/models/gallery-file';
import { tempDir } from '../data/helpers';
import { rejection } from '../rejection';

describe('gallery file', () => {
  const data = {
    header: {
      dim: 2,
      flip: 'concat' as const,
      arch: 'sphere20',
      names: ['Ada', 'Ben'],
      paths: ['a.png', 'b.png'],
    },
    embeddings: Float32Array.from([1, 0, 0, 1]),
  };

  it('refuses a header damaged in place, naming the file', async () => {
    const file = path.join(tempDir(), 'people.sfg');
    await writeGalleryFile(file, data);
    expect(await readGalleryFile(file)).to.deep.equal(data);
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf(Buffer.from('"Ben"'));
    bytes.write('"Bob"', at, 'latin1');
    fs.writeFileSync(file, bytes);
    expect((await rejection(readGalleryFile(file))).message).to.equal(
      `${file}: not a sphereface gallery (the header fails its checksum)`,
    );
  });

  /** A gallery file laid out byte by byte: magic, version, header length, [header CRC,] header. */
  function handBuilt(version: 1 | 2, header: unknown, floats: number[]): Buffer {
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const fixed = Buffer.alloc(version === 1 ? 16 : 20);
    fixed.write('SFGALLRY', 0, 'latin1');
    fixed.writeUInt32LE(version, 8);
    fixed.writeUInt32LE(json.length, 12);
    if (version === 2) fixed.writeUInt32LE(zlib.crc32(json), 16);
    const pad = Buffer.alloc((4 - ((fixed.length + json.length) % 4)) % 4);
    const rows = Buffer.alloc(floats.length * 4);
    floats.forEach((v, i) => rows.writeFloatLE(v, i * 4));
    return Buffer.concat([fixed, json, pad, rows]);
  }

  it('reads a version 1 file (no header checksum), laid out by hand', async () => {
    const file = path.join(tempDir(), 'old.sfg');
    const rows = Buffer.alloc(16);
    [1, 0, 0, 1].forEach((v, i) => rows.writeFloatLE(v, i * 4));
    fs.writeFileSync(file, handBuilt(1, { ...data.header, crc32: zlib.crc32(rows) }, [1, 0, 0, 1]));
    expect(await readGalleryFile(file)).to.deep.equal(data);
  });

  it('refuses a header that is not an object, though its checksum holds', async () => {
    const file = path.join(tempDir(), 'null.sfg');
    fs.writeFileSync(file, handBuilt(2, null, []));
    expect((await rejection(readGalleryFile(file))).message).to.equal(
      `${file}: not a sphereface gallery (inconsistent header)`,
    );
  });

  it('refuses an unknown version, naming it', async () => {
    const file = path.join(tempDir(), 'new.sfg');
    const bytes = handBuilt(2, { ...data.header, crc32: 0 }, []);
    bytes.writeUInt32LE(3, 8);
    fs.writeFileSync(file, bytes);
    expect((await rejection(readGalleryFile(file))).message).to.equal(
      `${file}: not a sphereface gallery (version 3, not 2)`,
    );
  });

  it('refuses a directory at once, naming it', async () => {
    const dir = tempDir();
    expect((await rejection(readGalleryFile(dir))).message).to.equal(
      `gallery ${dir} is a directory, not a regular file`,
    );
  });
});
