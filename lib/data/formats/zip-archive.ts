// The members of a zip archive as torch.save writes one (PyTorch's serialisation since 1.6):
// members stored uncompressed, ZIP64 end records, and local headers padded with an extra field so
// that each member's data starts 64-byte aligned. Read from the central directory; every offset
// and size is checked against the bytes there are before it is used, each member's CRC-32 when
// it is read, and compressed or encrypted members are refused by name.
import * as zlib from 'node:zlib';

export interface ZipMember {
  name: string;
  /** Where the member's data starts in the archive. */
  offset: number;
  size: number;
  crc32: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const MAX_COMMENT = 0xffff;

/** A zip archive held in memory; `file` names it in errors. */
export class ZipArchive {
  readonly members: ReadonlyMap<string, ZipMember>;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.members = this.readCentralDirectory();
  }

  /** Whether `bytes` start as a zip archive does (a local header or an empty archive's end). */
  static looksLikeZip(bytes: Uint8Array): boolean {
    if (bytes.length < 4) return false;
    const signature = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
    return signature === LOCAL || signature === EOCD;
  }

  /** A member's bytes (a view into the archive), its CRC-32 checked. */
  read(name: string): Uint8Array {
    const member = this.members.get(name);
    if (!member) throw new Error(`${this.file}: the archive has no member '${name}'`);
    const data = this.bytes.subarray(member.offset, member.offset + member.size);
    if (zlib.crc32(data) !== member.crc32) {
      throw new Error(`${this.file}: member '${name}' is corrupted (its CRC-32 does not match)`);
    }
    return data;
  }

  private fail(why: string): never {
    throw new Error(`${this.file}: not a readable zip archive (${why})`);
  }

  private u16(at: number): number {
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  // Offsets above 2^53 cannot be in a file held in memory: they fail the range checks as such.
  private u64(at: number): number {
    return Number(this.view.getBigUint64(at, true));
  }

  /** Checks that `size` bytes at `at` lie inside the archive. */
  private within(at: number, size: number, what: string): void {
    if (!(at >= 0 && size >= 0 && at + size <= this.bytes.length)) {
      this.fail(
        `${what} at offset ${at} runs past the end of the file (${this.bytes.length} bytes)`,
      );
    }
  }

  private findEnd(): number {
    const last = this.bytes.length - 22;
    for (let at = last; at >= Math.max(0, last - MAX_COMMENT); at--) {
      if (this.u32(at) === EOCD && at + 22 + this.u16(at + 20) === this.bytes.length) return at;
    }
    return this.fail('no end-of-central-directory record');
  }

  private readCentralDirectory(): Map<string, ZipMember> {
    if (this.bytes.length < 22) this.fail(`${this.bytes.length} bytes, shorter than any archive`);
    const end = this.findEnd();
    let count = this.u16(end + 10);
    let size = this.u32(end + 12);
    let start = this.u32(end + 16);
    if (this.u16(end + 4) !== 0 || this.u16(end + 6) !== 0) this.fail('a multi-part archive');
    const locator = end - 20;
    if (locator >= 0 && this.u32(locator) === ZIP64_LOCATOR) {
      const record = this.u64(locator + 8);
      this.within(record, 56, 'the ZIP64 end record');
      if (this.u32(record) !== ZIP64_EOCD) this.fail('a ZIP64 locator without its end record');
      count = this.u64(record + 32);
      size = this.u64(record + 40);
      start = this.u64(record + 48);
    }
    this.within(start, size, 'the central directory');
    const members = new Map<string, ZipMember>();
    let at = start;
    for (let i = 0; i < count; i++) {
      this.within(at, 46, `central directory entry ${i}`);
      if (this.u32(at) !== CENTRAL) this.fail(`central directory entry ${i} has a bad signature`);
      const flags = this.u16(at + 8);
      const method = this.u16(at + 10);
      const crc32 = this.u32(at + 16);
      let compressed = this.u32(at + 20);
      let plain = this.u32(at + 24);
      const nameLength = this.u16(at + 28);
      const extraLength = this.u16(at + 30);
      const commentLength = this.u16(at + 32);
      let local = this.u32(at + 42);
      this.within(at + 46, nameLength + extraLength + commentLength, `entry ${i}'s name`);
      const name = Buffer.from(this.bytes.subarray(at + 46, at + 46 + nameLength)).toString('utf8');
      // ZIP64: the fields that overflowed 32 bits follow, in this order, in extra field 0x0001.
      for (let x = at + 46 + nameLength; x + 4 <= at + 46 + nameLength + extraLength;) {
        const id = this.u16(x);
        const length = this.u16(x + 2);
        let field = x + 4;
        if (id === ZIP64_EXTRA) {
          const next = (): number => {
            if (field + 8 > x + 4 + length) this.fail(`member '${name}' has a short ZIP64 field`);
            const value = this.u64(field);
            field += 8;
            return value;
          };
          if (plain === 0xffffffff) plain = next();
          if (compressed === 0xffffffff) compressed = next();
          if (local === 0xffffffff) local = next();
        }
        x += 4 + length;
      }
      if (flags & 1) this.fail(`member '${name}' is encrypted`);
      if (method !== 0 || compressed !== plain) {
        this.fail(`member '${name}' is compressed (method ${method}); torch.save stores members`);
      }
      this.within(local, 30, `member '${name}''s local header`);
      if (this.u32(local) !== LOCAL) this.fail(`member '${name}''s local header is missing`);
      const offset = local + 30 + this.u16(local + 26) + this.u16(local + 28);
      this.within(offset, plain, `member '${name}''s data`);
      members.set(name, { name, offset, size: plain, crc32 });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return members;
  }
}
