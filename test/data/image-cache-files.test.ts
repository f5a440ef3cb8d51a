// The image cache's files: temporaries of a killed build are removed by the next build, the
// cache name cannot lead outside cacheDir, and a header damaged anywhere is a miss.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadImages } from '../../lib/data/load-images';
import { Resize } from '../../lib/data/transforms/resize';
import { expectReject, tempDir, writeImage } from './helpers';

/** The id of a process that has exited (a killed build's). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

describe('image cache files', () => {
  it("removes a killed build's temporaries, and leaves those of running builds", async () => {
    const dir = tempDir();
    const paths = [await writeImage(path.join(dir, 'a.jpg'), 20, 20)];
    const cacheDir = path.join(dir, 'cache');
    fs.mkdirSync(cacheDir);
    // Named as the atomic writer names them: .<target>.<pid>.<counter>.tmp
    const stale = path.join(cacheDir, `.images-0123456789abcdef.sfcache.${deadPid()}.0.tmp`);
    const live = path.join(cacheDir, `.images-0123456789abcdef.sfcache.${process.pid}.99.tmp`);
    fs.writeFileSync(stale, 'half a cache');
    fs.writeFileSync(live, 'being written');
    const set = await loadImages(paths, { transforms: [new Resize([8, 8])], cacheDir });
    expect(fs.existsSync(stale)).to.equal(false);
    expect(fs.existsSync(live)).to.equal(true);
    expect(fs.readdirSync(cacheDir).sort()).to.deep.equal(
      [path.basename(live), path.basename(set.cacheFile!)].sort(),
    );
  });

  it('refuses a cacheName that is not a plain file-name stem', async () => {
    const dir = tempDir();
    const paths = [await writeImage(path.join(dir, 'a.jpg'), 20, 20)];
    const cacheDir = path.join(dir, 'cache');
    for (const cacheName of ['../x', 'a/b', 'a\\b', '', '.hidden', '..', 'x'.repeat(101), 'a\0b']) {
      await expectReject(
        loadImages(paths, { transforms: [new Resize([8, 8])], cacheDir, cacheName }),
        /loadImages: expected a file-name stem for cacheName/,
      );
    }
    expect(fs.readdirSync(dir)).to.deep.equal(['a.jpg']);
    const ok = await loadImages(paths, {
      transforms: [new Resize([8, 8])],
      cacheDir,
      cacheName: 'held-out_2.v1',
    });
    expect(path.dirname(ok.cacheFile!)).to.equal(cacheDir);
    expect(path.basename(ok.cacheFile!)).to.match(/^held-out_2\.v1-[0-9a-f]{16}\.sfcache$/);
  });

  it('treats a header changed anywhere as corrupt, even when it still parses and fits', async () => {
    const dir = tempDir();
    const good = await writeImage(path.join(dir, 'good.jpg'), 20, 20);
    const bad = path.join(dir, 'bad.jpg');
    fs.writeFileSync(bad, 'not an image');
    const opts = {
      transforms: [new Resize([8, 8])],
      cacheDir: path.join(dir, 'cache'),
      onBadImage: 'skip' as const,
    };
    const first = await loadImages([good, bad], opts);
    expect(first.skipped.map((s) => s.path)).to.deep.equal([bad]);
    const bytes = fs.readFileSync(first.cacheFile!);
    // The skipped image's name in the header, changed: the JSON still parses, the digest and
    // the payload's shape and checksum still match; only the header's own CRC tells.
    const at = bytes.indexOf(Buffer.from('bad.jpg', 'latin1'));
    expect(at).to.be.above(20);
    const forged = Buffer.from(bytes);
    forged.write('bad.jpq', at, 'latin1');
    fs.writeFileSync(first.cacheFile!, forged);
    const again = await loadImages([good, bad], opts);
    expect(again.fromCache).to.equal(false);
    expect(again.cacheMiss).to.equal('corrupt');
    expect(again.skipped.map((s) => s.path)).to.deep.equal([bad]);
    expect(fs.readFileSync(first.cacheFile!).equals(bytes)).to.equal(true);
  });
});
