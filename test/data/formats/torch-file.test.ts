import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  readStateDictFile,
  StateDictFile,
  type StateDictTensor,
} from '../../../lib/data/formats/torch-file';
import { ZipArchive } from '../../../lib/data/formats/zip-archive';
import { Random } from '../../../lib/util/random';
import { rejection } from '../../rejection';
import { corrupted, stateDictBytes } from './torch-writer';

// Files written by PyTorch 1.13's torch.save (test/fixtures/torch/make-fixtures.py): element i
// of each tensor there is `base + i / 8` in row-major order of the tensor it was made from.
const FIXTURES = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'torch');
const fixture = (name: string) => path.join(FIXTURES, name);

function values(base: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => base + i / 8);
}

function entry(tensors: StateDictTensor[], name: string): StateDictTensor {
  const found = tensors.find((t) => t.name === name);
  if (!found) throw new Error(`no tensor ${name}`);
  return found;
}

describe('PyTorch state_dict files', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-file-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads a module's state_dict (an OrderedDict with _metadata) in its order", async () => {
    const tensors = await readStateDictFile(fixture('module-state-dict.pt'));
    expect(tensors.map((t) => [t.name, t.shape])).to.deep.equal([
      ['0.weight', [2, 3, 1, 1]],
      ['0.bias', [2]],
      ['1.weight', [2]],
    ]);
    expect([...tensors[0].data]).to.deep.equal(values(1, 6));
    expect([...tensors[1].data]).to.deep.equal(values(2, 2));
    expect([...tensors[2].data]).to.deep.equal(values(3, 2));
  });

  it('reads views: transposed strides, a storage offset, a storage shared by entries', async () => {
    const tensors = await readStateDictFile(fixture('views.pt'));
    const base = values(4, 12); // 3 x 4, row-major
    const at = (r: number, c: number) => base[r * 4 + c];
    expect(entry(tensors, 'whole').shape).to.deep.equal([3, 4]);
    expect([...entry(tensors, 'whole').data]).to.deep.equal(base);
    const transposed = entry(tensors, 'transposed');
    expect(transposed.shape).to.deep.equal([4, 3]);
    const wantTransposed = [0, 1, 2, 3].flatMap((c) => [0, 1, 2].map((r) => at(r, c)));
    expect([...transposed.data]).to.deep.equal(wantTransposed);
    const sliced = entry(tensors, 'sliced');
    expect(sliced.shape).to.deep.equal([2, 2]);
    expect([...sliced.data]).to.deep.equal([at(1, 2), at(1, 3), at(2, 2), at(2, 3)]);
  });

  it("reads libtorch's pickle_save output (a dict wrapped in restore_type_tag)", async () => {
    const tensors = await readStateDictFile(fixture('libtorch-pickle-save.pt'));
    expect(tensors.map((t) => [t.name, t.shape, [...t.data]])).to.deep.equal([
      ['z.weight', [2, 3], [0, 1, 2, 3, 4, 5]],
      ['a.bias', [2], [1, 1]],
    ]);
  });

  it('reads a plain dict', async () => {
    const tensors = await readStateDictFile(fixture('plain-dict.pt'));
    expect(tensors.map((t) => t.name)).to.deep.equal(['a']);
    expect([...tensors[0].data]).to.deep.equal(values(5, 2));
  });

  it('names a tensor that is not float32, and a value that is not a tensor', async () => {
    const f64 = fixture('float64.pt');
    expect((await rejection(readStateDictFile(f64))).message).to.equal(
      `${f64}: tensor 'b' holds float64, not float32 (save {k: v.float() for k, v in state_dict.items()})`,
    );
    const other = fixture('not-a-tensor.pt');
    expect((await rejection(readStateDictFile(other))).message).to.equal(
      `${other}: 'epoch' is the int 3, not a tensor`,
    );
  });

  it('says how to convert a legacy (pre-1.6) file', async () => {
    const legacy = fixture('legacy.pth');
    expect((await rejection(readStateDictFile(legacy))).message).to.equal(
      `${legacy}: a PyTorch file in the legacy format (before PyTorch 1.6, not a zip archive); ` +
        `convert it once with: python3 -c "import torch; torch.save(torch.load('${legacy}', ` +
        `map_location='cpu'), '${legacy.replace(/\.pth$/, '')}.pt')"`,
    );
    // Never onto the file itself: a legacy file named .pt converts to a new name.
    const named = path.join(dir, 'legacy.pt');
    fs.copyFileSync(legacy, named);
    expect((await rejection(readStateDictFile(named))).message).to.match(
      new RegExp(`torch.load\\('${named}', map_location='cpu'\\), '${dir}/legacy-zip.pt'\\)"$`),
    );
  });

  it('refuses other files, a directory and a missing file by name', async () => {
    const text = path.join(dir, 'notes.pt');
    fs.writeFileSync(text, 'not a tensor file');
    expect((await rejection(readStateDictFile(text))).message).to.equal(
      `${text}: not a PyTorch file (torch.save writes a zip archive since PyTorch 1.6)`,
    );
    expect((await rejection(readStateDictFile(dir))).message).to.equal(
      `${dir}: not a regular file`,
    );
    const missing = path.join(dir, 'missing.pt');
    expect((await rejection(readStateDictFile(missing))).message).to.equal(
      `cannot read ${missing} (ENOENT)`,
    );
  });

  it("gives every entry's name and shape first, and reads a storage only for a tensor asked for", async () => {
    // 'huge' is a stride-0 view of one element: 2^31 of them (8 GB) once copied out. Its
    // storage is corrupt, which only a read of it would see.
    const storages = { '0': Float32Array.from([1.5]), '1': Float32Array.from([0, 1, 2, 3, 4, 5]) };
    const bytes = stateDictBytes(
      [
        { name: 'huge', storage: '0', shape: [512, 1 << 22], stride: [0, 0] },
        { name: 'rows', storage: '1', offset: 2, shape: [3, 4], stride: [0, 1] },
        { name: 'one', storage: '0', shape: [2], stride: [0] },
      ],
      storages,
    );
    const file = path.join(dir, 'expanded.pt');
    fs.writeFileSync(file, corrupted(bytes, 'archive/data/0'));
    const opened = await StateDictFile.open(file);
    try {
      expect(opened.entries.map((e) => [e.name, e.shape])).to.deep.equal([
        ['huge', [512, 4194304]],
        ['rows', [3, 4]],
        ['one', [2]],
      ]);
      // Row r of 'rows' is storage elements 2..5, every row the same (stride 0).
      const [rows] = await opened.read([opened.entries[1]]);
      expect([...rows]).to.deep.equal([2, 3, 4, 5, 2, 3, 4, 5, 2, 3, 4, 5]);
      expect((await rejection(opened.read([opened.entries[2]]))).message).to.equal(
        `${file}: member 'archive/data/0' is corrupted (its CRC-32 does not match)`,
      );
    } finally {
      await opened.close();
    }
  });

  it("checks each tensor's reach into its storage before reading any data", async () => {
    const file = path.join(dir, 'reach.pt');
    const storages = { '0': Float32Array.from([1, 2, 3, 4]) };
    const tensors = [{ name: 'w', storage: '0', offset: 1, shape: [2, 2], stride: [2, 1] }];
    fs.writeFileSync(file, corrupted(stateDictBytes(tensors, storages), 'archive/data/0'));
    // Elements 1 + 2 + 1 = 4 of a storage of 4: past its end, said before the CRC-32 is.
    expect((await rejection(StateDictFile.open(file))).message).to.equal(
      `${file}: tensor 'w' of shape [2, 2] reaches element 4 of a storage of 4`,
    );
  });

  it('checks each member against its CRC-32', async () => {
    const bytes = fs.readFileSync(fixture('plain-dict.pt'));
    const archive = new ZipArchive(bytes, 'plain-dict.pt');
    const member = [...archive.members.values()].find((m) => m.name.endsWith('/data/0'))!;
    const changed = Buffer.from(bytes);
    changed[member.offset] ^= 0x40;
    const file = path.join(dir, 'changed.pt');
    fs.writeFileSync(file, changed);
    expect((await rejection(readStateDictFile(file))).message).to.equal(
      `${file}: member '${member.name}' is corrupted (its CRC-32 does not match)`,
    );
  });

  it('a file cut anywhere, or with random bytes changed, is a clean error naming it', async () => {
    const bytes = fs.readFileSync(fixture('module-state-dict.pt'));
    const file = path.join(dir, 'damaged.pt');
    const random = new Random(1404);
    const variants: Buffer[] = [];
    for (let cut = 0; cut < bytes.length; cut += 37) variants.push(bytes.subarray(0, cut));
    for (let k = 0; k < 200; k++) {
      const changed = Buffer.from(bytes);
      for (let j = 0; j < 3; j++) changed[random.int(changed.length)] = random.int(256);
      variants.push(changed);
    }
    for (const variant of variants) {
      fs.writeFileSync(file, variant);
      try {
        const tensors = await readStateDictFile(file);
        // A change the format cannot see (a name's letter, a pickled integer) still reads whole.
        expect(tensors.every((t) => t.data.length === t.shape.reduce((a, b) => a * b, 1))).to.equal(
          true,
        );
      } catch (error) {
        expect((error as Error).message).to.contain(file);
      }
    }
  });
});
