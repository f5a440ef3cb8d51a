import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PickleTuple, unpickle, type PickleValue } from '../../../lib/data/formats/pickle';
import { parseVerificationBin } from '../../../lib/data/formats/verification-bin';
import { Random } from '../../../lib/util/random';
import { FIXTURES, manifest, type FixtureSet } from './fixtures';

const p = (...parts: (number | string | number[])[]): Uint8Array =>
  Uint8Array.from(
    parts.flatMap((x) =>
      typeof x === 'string' ? Array.from(Buffer.from(x, 'latin1')) : Array.isArray(x) ? x : [x],
    ),
  );

const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const le64 = (n: bigint) =>
  Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));

function failure(bytes: Uint8Array, file = 'x.bin'): Error {
  try {
    unpickle(bytes, file);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected unpickle to fail');
}

describe('restricted unpickler', () => {
  const sets = manifest();
  const fixtures: [string, FixtureSet][] = [
    ['pairs-py2.bin', sets.pairs],
    ['pairs-p2.bin', sets.pairs],
    ['pairs-p4.bin', sets.pairs],
    ['mixed-py2.bin', sets.mixed],
    ['mixed-p3.bin', sets.mixed],
    ['mixed-p5.bin', sets.mixed],
  ];

  for (const [name, set] of fixtures) {
    it(`reads ${name} (written by Python) to the image files' bytes and the booleans`, () => {
      const bin = parseVerificationBin(fs.readFileSync(path.join(FIXTURES, name)), name);
      expect(bin.same).to.deep.equal(set.issame);
      expect(bin.images.length).to.equal(set.images.length);
      bin.images.forEach((bytes, i) => {
        const file = fs.readFileSync(path.join(FIXTURES, 'images', set.images[i]));
        expect(Buffer.from(bytes).equals(file), `image ${i}`).to.equal(true);
        // Each image owns its memory, so a worker receives only its bytes.
        expect(bytes.byteLength).to.equal(bytes.buffer.byteLength);
      });
    });
  }

  it('runs the opcodes of hand-built pickles', () => {
    const cases: [Uint8Array, PickleValue][] = [
      [p(0x80, 2, 'U', 3, 'abc', '.'), Uint8Array.from([97, 98, 99])], // SHORT_BINSTRING
      [p(0x80, 3, 'C', 2, [0, 255], '.'), Uint8Array.from([0, 255])], // SHORT_BINBYTES
      [p(0x80, 4, 0x8e, le64(2n), [7, 8], '.'), Uint8Array.from([7, 8])], // BINBYTES8
      [p(0x80, 5, 0x96, le64(1n), [9], '.'), Uint8Array.from([9])], // BYTEARRAY8
      [p(0x80, 4, 0x8c, 2, 'hi', '.'), 'hi'], // SHORT_BINUNICODE
      [p(0x80, 2, 'X', le32(3), [0xc3, 0xa9, 0x21], '.'), '\u00e9!'], // BINUNICODE, UTF-8
      [p(0x80, 2, 'J', le32(-5 >>> 0), '.'), -5], // BININT
      [p(0x80, 2, 'K', 200, '.'), 200], // BININT1
      [p(0x80, 2, 'M', [0x34, 0x12], '.'), 0x1234], // BININT2
      [p(0x80, 2, ')', '.'), new PickleTuple([])],
      [p(0x80, 2, 0x88, 0x85, '.'), new PickleTuple([true])], // TUPLE1
      [p(0x80, 2, 0x88, 0x89, 'K', 1, 0x87, '.'), new PickleTuple([true, false, 1])], // TUPLE3
      [
        p(0x80, 2, '(', 0x89, 0x89, 0x88, 0x88, 't', '.'),
        new PickleTuple([false, false, true, true]),
      ],
      [p(0x80, 2, ']', 0x88, 'a', 0x89, 'a', '.'), [true, false]], // APPEND
      // LONG_BINPUT then LONG_BINGET, MEMOIZE then BINGET, FRAME skipped over.
      [
        p(
          0x80,
          4,
          0x95,
          le64(14n),
          ']',
          'r',
          le32(70000),
          'C',
          1,
          'z',
          'a',
          'j',
          le32(70000),
          0x86,
          '.',
        ),
        new PickleTuple([[p('z')], [p('z')]]),
      ],
      [
        p(0x80, 4, 'C', 1, 'q', 0x94, '(', 'h', 0, 'h', 0, 't', '.'),
        new PickleTuple([p('q'), p('q')]),
      ],
      // Python 3's protocol-2 bytes: _codecs.encode('\xff\x00', 'latin1'), and bytes() for b''.
      [
        p(
          0x80,
          2,
          'c_codecs\nencode\n',
          'X',
          le32(3),
          [0xc3, 0xbf, 0],
          'X',
          le32(6),
          'latin1',
          0x86,
          'R',
          '.',
        ),
        Uint8Array.from([255, 0]),
      ],
      [p(0x80, 2, 'c__builtin__\nbytes\n', ')', 'R', '.'), new Uint8Array(0)],
      // bytearray(b'ab\xff') as Python 3 pickles it at protocol 3 (GLOBAL) and 4 (STACK_GLOBAL),
      // bytearray() empty, and protocol 2's bytearray(_codecs.encode('ab\xff', 'latin1')).
      [p(0x80, 3, 'cbuiltins\nbytearray\n', 'C', 3, 'ab', [255], 0x85, 'R', '.'), p('ab', [255])],
      [
        p(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 9, 'bytearray', 0x93, 'C', 1, 'z', 0x85, 'R', '.'),
        p('z'),
      ],
      [p(0x80, 3, 'cbuiltins\nbytearray\n', ')', 'R', '.'), new Uint8Array(0)],
      [
        p(
          0x80,
          2,
          'c__builtin__\nbytearray\n',
          'c_codecs\nencode\n',
          'X',
          le32(4),
          'ab',
          [0xc3, 0xbf],
          'X',
          le32(6),
          'latin1',
          0x86,
          'R',
          0x85,
          'R',
          '.',
        ),
        p('ab', [255]),
      ],
    ];
    for (const [bytes, expected] of cases) {
      expect(unpickle(bytes, 'x'), Buffer.from(bytes).toString('latin1')).to.deep.equal(expected);
    }
  });

  it('names an unsupported opcode and its offset', () => {
    expect(failure(p(0x80, 2, '}', 'q', 0, '.')).message).to.equal(
      'x.bin: pickle opcode EMPTY_DICT (0x7d) at offset 2: not supported by this reader (lists, tuples, bytes and booleans only)',
    );
    expect(failure(p(0x80, 2, ']', 0xff, '.')).message).to.match(
      /opcode 0xff \(not a pickle opcode\) at offset 3/,
    );
    // numpy arrays and other objects arrive as STACK_GLOBAL / GLOBAL + REDUCE: refused.
    expect(
      failure(p(0x80, 2, 'cos\nsystem\n', 'X', le32(2), 'ls', 0x85, 'R', '.')).message,
    ).to.match(/opcode REDUCE \(0x52\) at offset 21: calls os.system: only _codecs.encode/);
    expect(failure(p(0x80, 4, 0x8c, 1, 'a', 0x8c, 1, 'b', 0x93, ')', 'R', '.')).message).to.match(
      /opcode REDUCE \(0x52\) at offset 10: calls a.b: only _codecs.encode/,
    );
    expect(failure(p(0x80, 4, 'K', 1, 0x8c, 1, 'b', 0x93, '.')).message).to.match(
      /STACK_GLOBAL \(0x93\) at offset 7: expected a module and a name/,
    );
  });

  it('refuses protocols 0, 1 and 6, with the first opcode named', () => {
    expect(failure(p('(lp0\n.')).message).to.match(
      /x.bin: not a pickle of protocol 2 to 5: .* starts with opcode MARK \(0x28\)/,
    );
    expect(failure(new Uint8Array(0)).message).to.match(/starts with nothing \(an empty file\)/);
    expect(failure(p(0x80, 6, '.')).message).to.match(/PROTO \(0x80\) at offset 0: protocol 6/);
  });

  it('checks lengths against the bytes left before allocating', () => {
    expect(failure(p(0x80, 4, 0x8e, le64(1n << 62n), '.')).message).to.match(
      /BINBYTES8 \(0x8e\) at offset 2: needs 4611686018427387904 more bytes but the file ends at offset 12 \(1 left\)/,
    );
    expect(failure(p(0x80, 2, 'T', le32(0x80000000), '.')).message).to.match(
      /BINSTRING .* negative length -2147483648/,
    );
    expect(failure(p(0x80, 4, 0x95, le64(100n), ']', '.')).message).to.match(
      /FRAME .* the frame runs past the end/,
    );
  });

  it('reports stack misuse instead of crashing', () => {
    expect(failure(p(0x80, 2, 'a', '.')).message).to.match(
      /APPEND \(0x61\) at offset 2: the stack is empty/,
    );
    expect(failure(p(0x80, 2, ']', 'e', '.')).message).to.match(/APPENDS .* no MARK before it/);
    expect(failure(p(0x80, 2, 'K', 1, 'a', '.')).message).to.match(/the stack is empty/);
    expect(failure(p(0x80, 2, 'K', 1, 0x88, 'a', '.')).message).to.match(
      /expected a list to append to but found the int 1/,
    );
    expect(failure(p(0x80, 2, 'h', 5, '.')).message).to.match(/memo entry 5 was never stored/);
    expect(failure(p(0x80, 2, '(', 0x88, '.')).message).to.match(/STOP .* a MARK was left open/);
    expect(failure(p(0x80, 2, '(', 0x85, '.')).message).to.match(/TUPLE1 .* the stack is empty/);
    expect(failure(p(0x80, 2, 'c_codecs\nencode', '.')).message).to.match(/expected a line ending/);
  });

  it('a real file cut anywhere is a clean error naming the file', () => {
    for (const name of ['mixed-py2.bin', 'pairs-p2.bin', 'mixed-p5.bin']) {
      const bytes = fs.readFileSync(path.join(FIXTURES, name));
      // Every cut through the first opcodes and the last ones, every 13th byte in between.
      for (let n = 0; n < bytes.length; n += n < 300 || n > bytes.length - 300 ? 1 : 13) {
        const err = failure(bytes.subarray(0, n), name);
        expect(err.message.startsWith(`${name}: `), err.message).to.equal(true);
      }
    }
  });

  it('random byte changes give a value or a clean error, never a crash or hang', () => {
    const rng = new Random(5);
    for (const name of ['pairs-py2.bin', 'pairs-p2.bin', 'pairs-p4.bin', 'mixed-p5.bin']) {
      const original = fs.readFileSync(path.join(FIXTURES, name));
      for (let trial = 0; trial < 300; trial++) {
        const bytes = Uint8Array.from(original);
        for (let k = 0; k <= trial % 3; k++) bytes[rng.int(bytes.length)] = rng.int(256);
        try {
          parseVerificationBin(bytes, name);
        } catch (err) {
          expect(err).to.be.instanceOf(Error);
          expect((err as Error).message.startsWith(`${name}: `), (err as Error).message).to.equal(
            true,
          );
        }
      }
    }
  });

  it('checks the shape: a pair of (bytes list, boolean list), two images a pair', () => {
    const bytesOf = (s: string) => ['C', s.length, s];
    const bin = (images: (string | number)[], same: (string | number)[]) =>
      p(0x80, 3, ']', '(', ...images, 'e', ']', '(', ...same, 'e', 0x86, '.');
    const ok = bin([...bytesOf('ab'), ...bytesOf('cd')], [0x88]);
    expect(parseVerificationBin(ok, 'v').same).to.deep.equal([true]);
    expect(() => parseVerificationBin(bin([...bytesOf('ab')], [0x88]), 'v')).to.throw(
      'v: 1 images for 1 pairs; expected two images per pair',
    );
    expect(() => parseVerificationBin(bin([...bytesOf('ab'), 'K', 1], [0x88]), 'v')).to.throw(
      'v: image 1 is the int 1, not bytes',
    );
    expect(() =>
      parseVerificationBin(bin([...bytesOf('ab'), ...bytesOf('cd')], ['K', 1]), 'v'),
    ).to.throw('v: issame[0] is the int 1, not a boolean');
    expect(() => parseVerificationBin(p(0x80, 2, ']', '.'), 'v')).to.throw(
      'v: expected a pickled (images, issame) pair but found a list (0 items)',
    );
  });
});
