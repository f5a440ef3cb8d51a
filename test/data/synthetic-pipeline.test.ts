import { expect } from 'chai';
import { DataLoader } from '../../lib/data/data-loader';
import { ImageFolderDataset } from '../../lib/data/image-folder-dataset';
import { LandmarksFile } from '../../lib/data/landmarks-file';
import { LfwDataset } from '../../lib/data/lfw-dataset';
import { FaceAlign, SPHEREFACE_TEMPLATE } from '../../lib/data/transforms/face-align';
import { applyAffine, fitSimilarity } from '../../lib/data/transforms/similarity';
import { RandomHorizontalFlip } from '../../lib/data/transforms/random-horizontal-flip';
import { generateSyntheticFaces } from '../../lib/synth/generate';
import { tempDir } from './helpers';

describe('data pipeline on a synthetic face set', function () {
  this.timeout(120000);

  it('reads the train folder, LFW pairs and landmark files, aligns and batches them', async () => {
    const out = tempDir();
    const synth = await generateSyntheticFaces({
      out,
      identities: 3,
      images: 2,
      heldOutIdentities: 4,
      heldOutImages: 2,
      folds: 2,
      pairsPerFold: 1,
      seed: 5,
      workers: 1,
    });
    const train = new ImageFolderDataset(synth.trainDir);
    expect(train.classes).to.equal(3);
    expect(Array.from(train.classCounts)).to.deep.equal([2, 2, 2]);
    const landmarks = new LandmarksFile(synth.trainLandmarksFile).forPaths(train.root, train.paths);
    const align = new FaceAlign();
    // Aligned, each face's five points sit near the template: RMS under 15% of the template's
    // eye distance (a face-shaped set of points, fitted by a similarity, does that).
    const eyes = Math.hypot(
      SPHEREFACE_TEMPLATE[2] - SPHEREFACE_TEMPLATE[0],
      SPHEREFACE_TEMPLATE[3] - SPHEREFACE_TEMPLATE[1],
    );
    for (const points of landmarks) {
      const { forward } = fitSimilarity(points!, SPHEREFACE_TEMPLATE);
      let sum = 0;
      for (let i = 0; i < 5; i++) {
        const [x, y] = applyAffine(forward, points![2 * i], points![2 * i + 1]);
        sum += (x - SPHEREFACE_TEMPLATE[2 * i]) ** 2 + (y - SPHEREFACE_TEMPLATE[2 * i + 1]) ** 2;
      }
      expect(Math.sqrt(sum / 5)).to.be.below(0.15 * eyes);
    }
    const set = await train.load({ transforms: [align], landmarks, threads: 1 });
    expect([set.n, set.height, set.width]).to.deep.equal([6, 112, 96]);
    const loader = new DataLoader(set, { batchSize: 4, transforms: [new RandomHorizontalFlip()] });
    let seen = 0;
    for await (const b of loader.batches(0)) seen += b.n;
    expect(seen).to.equal(6);

    const lfw = new LfwDataset(synth.lfwDir, synth.pairsFile);
    expect(lfw.folds).to.equal(2);
    expect(lfw.pairs.map((p) => [p.fold, p.same])).to.deep.equal([
      [0, true],
      [0, false],
      [1, true],
      [1, false],
    ]);
    const lfwMarks = new LandmarksFile(synth.lfwLandmarksFile).forPaths(lfw.root, lfw.images);
    const loaded = await lfw.load({
      transforms: [align],
      landmarks: lfwMarks,
      threads: 1,
    });
    expect(loaded.pairs).to.deep.equal(lfw.pairs);
    expect(loaded.images.n).to.equal(lfw.images.length);
  });
});
