// Ctrl-C in `sphereface prepare`: the run stops once the shards being written are recorded, says
// so, releases the folder and exits 130; the next run continues after those shards.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateSyntheticFaces } from '../../lib/synth/generate';
import { jsonLines, sphereface, startSphereface, tempDir, until } from './cli-helpers';

function recordedShards(out: string): number {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
      shards: unknown[];
    };
    return manifest.shards.length;
  } catch {
    return 0; // not written yet, or being replaced
  }
}

describe('Ctrl-C in sphereface prepare', function () {
  this.timeout(300_000);

  it('stops with its finished shards recorded and exit 130; the next run goes on', async () => {
    const faces = await generateSyntheticFaces({
      out: path.join(await tempDir(), 'faces'),
      identities: 12,
      images: 16,
      heldOutIdentities: 2,
      heldOutImages: 2,
      folds: 1,
      pairsPerFold: 1,
      seed: 9,
    });
    const out = path.join(await tempDir(), 'store');
    // One image a shard: 192 shards, each written, synced and recorded on its own.
    const args = ['prepare', '--data', faces.trainDir, '--out', out, '--size', '8x8'];
    const run = startSphereface([...args, '--images-per-shard', '1', '--json']);
    const deadline = Date.now() + 120_000;
    while (recordedShards(out) < 2) {
      if (run.child.exitCode !== null) throw new Error(`prepare ended early: ${run.stderr()}`);
      if (Date.now() > deadline) throw new Error('no shard recorded after 120 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    run.child.kill('SIGINT');
    const { code } = await run.exit;
    expect(code, run.stderr()).to.equal(130);
    // Under --json, stderr holds JSON lines only: the note, then the error.
    expect(jsonLines(run.stderr())).to.deep.equal([
      {
        note: 'interrupted: stopping once the shards being written are recorded (Ctrl-C again to quit)',
      },
      {
        error:
          'sphereface prepare: stopped by SIGINT; the image store keeps the shards it finished, ' +
          'if any: run the same command again to continue',
        kind: 'interrupted',
      },
    ]);
    const kept = recordedShards(out);
    expect(kept).to.be.within(2, 191);
    // No lock, no temporary: only recorded shards and the manifest.
    const files = fs.readdirSync(out).sort();
    const shards = Array.from(
      { length: kept },
      (_, k) => `shard-${String(k).padStart(5, '0')}.bin`,
    );
    expect(files).to.deep.equal(['manifest.json', ...shards].sort());

    const again = await sphereface([...args, '--images-per-shard', '1', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    const summary = JSON.parse(again.stdout) as { resumedShards: number; shards: number };
    expect(summary.resumedShards).to.equal(kept);
    expect(summary.shards).to.equal(192);
    expect(jsonLines(again.stderr)).to.deep.equal([
      { note: `image store: resuming after ${kept} of 192 source images` },
    ]);
  });
});

describe('a signal to a command that has no clean stop', function () {
  this.timeout(300_000);

  it('ends it with the interrupted error, a JSON line under --json, and 128 + the signal', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const out = path.join(await tempDir(), 'faces');
      const args = ['synth', '--out', out, '--identities', '60', '--images', '20', '--json'];
      const run = startSphereface(args);
      // Once it writes photos it is at work, with its handlers in place.
      await until('a photo written', 120_000, () => {
        if (run.child.exitCode !== null) throw new Error(`synth ended early: ${run.stderr()}`);
        return fs.existsSync(path.join(out, 'train'));
      });
      run.child.kill(signal);
      const { code } = await run.exit;
      expect(code, run.stderr()).to.equal(signal === 'SIGINT' ? 130 : 143);
      expect(jsonLines(run.stderr())).to.deep.equal([
        { error: `sphereface synth: stopped by ${signal}`, kind: 'interrupted' },
      ]);
      expect(run.stdout()).to.equal('');
    }
  });
});
