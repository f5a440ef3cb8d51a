import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, loadModel } from '../../lib';
import { syntheticIdentities } from './synthetic-identities';

// embed keeps the residual convs' transformed weights between calls (native/nets/
// conv_weight_cache.h); a training step must drop them. sphere10's residual units sit at 128 and
// 256 channels, where the Winograd path runs on CPUs that have it.
describe('embed with kept conv weights', () => {
  const data = syntheticIdentities({
    identities: 4,
    imagesPerIdentity: 1,
    height: 112,
    width: 96,
    seed: 41,
  });
  let dir = '';
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-embed-cache-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('embeds with the weights a training step left, as a fresh model loaded with them does', async () => {
    const model = await createModel({
      arch: 'sphere10',
      classes: 4,
      head: { kind: 'sphere', m: 4 },
      seed: 6,
    });
    const before = await model.embed(data.images, data.n);
    expect(await model.embed(data.images, data.n)).to.deep.equal(before);
    await model.trainStep({ ...data, lr: 0.1, lambda: 5 });
    const after = await model.embed(data.images, data.n);
    expect(after).not.to.deep.equal(before);
    const file = path.join(dir, 'stepped.sphereface');
    await model.save(file);
    const fresh = await loadModel(file);
    expect(after).to.deep.equal(await fresh.embed(data.images, data.n));
    model.dispose();
    fresh.dispose();
  });

  it('gives each image the row a batch gives it, one image at a time, after a step', async () => {
    const model = await createModel({
      arch: 'sphere10',
      classes: 4,
      head: { kind: 'sphere', m: 4 },
      seed: 7,
    });
    // A step first, so that the fc's bias is not zero: one or two images take matrix-vector
    // products there (native/nets/face_net.h), more a matrix product.
    await model.trainStep({ ...data, lr: 0.1, lambda: 5 });
    const all = await model.embed(data.images, data.n);
    const image = 112 * 96 * 3;
    const d = all.length / data.n;
    for (let i = 0; i < data.n; i++) {
      const one = await model.embed(data.images.subarray(i * image, (i + 1) * image), 1);
      const row = all.subarray(i * d, (i + 1) * d);
      let worst = 0;
      let scale = 0;
      row.forEach((v, j) => {
        worst = Math.max(worst, Math.abs(one[j] - v));
        scale = Math.max(scale, Math.abs(v));
      });
      // Batch 1 and batch 4 may take different conv kernels: float32 rounding apart, no more.
      expect(worst).to.be.at.most(1e-4 * scale);
    }
    model.dispose();
  });
});
