import { expect } from 'chai';
import { ARCHS, createModel, inputSizeOf } from '../../lib';
import type { Arch } from '../../lib';

// The counts the paper's nets and the seed's net have without the head (from their layer lists:
// e.g. sphere4 = 1,792 + 64 + 73,856 + 128 + 295,168 + 256 + 1,180,160 + 512 + 11,010,560).
const PARAMETERS: Record<Arch, number> = {
  'sphere-cnn4': 8_067_328,
  sphere4: 12_562_496,
  sphere10: 15_217_984,
  sphere20: 22_666_944,
  // sphere20 plus a bias per output channel of its 16 residual convs: 2 x (64 + 2 x 128 +
  // 4 x 256 + 512) = 3,712.
  sphere20a: 22_670_656,
  sphere36: 32_771_392,
  sphere64: 48_186_816,
};

describe('architectures', () => {
  it('lists every arch with its input size', () => {
    expect([...ARCHS].sort()).to.deep.equal(Object.keys(PARAMETERS).sort());
    expect(inputSizeOf('sphere-cnn4')).to.deep.equal({ height: 96, width: 96 });
    for (const arch of ARCHS.filter((a) => a !== 'sphere-cnn4')) {
      expect(inputSizeOf(arch)).to.deep.equal({ height: 112, width: 96 });
    }
  });

  for (const arch of ARCHS) {
    // Output shapes on both input sizes (and sphere20a's biased residual convs); the deep nets
    // (same input and fc as sphere20) only count, to keep the suite fast.
    const embeds = ['sphere-cnn4', 'sphere4', 'sphere20', 'sphere20a'].includes(arch);
    const title = `${arch} has ${PARAMETERS[arch].toLocaleString('en')} parameters`;
    it(embeds ? `${title} and embeds to n x 512` : title, async () => {
      const classes = 7;
      const model = await createModel({
        arch,
        classes,
        head: { kind: 'sphere', m: 4 },
        device: 'cpu',
        seed: 1,
      });
      try {
        expect(model.parameterCount({ head: false })).to.equal(PARAMETERS[arch]);
        expect(model.parameterCount()).to.equal(PARAMETERS[arch] + classes * 512);
        expect(model.inputSize).to.deep.equal(inputSizeOf(arch));
        if (!embeds) return;
        const { height, width } = model.inputSize;
        const n = 3;
        const images = new Uint8Array(n * height * width * 3).map((_, i) => (i * 37) % 256);
        const features = await model.embed(images, n);
        expect(features).to.be.instanceOf(Float32Array);
        expect(features.length).to.equal(n * model.embeddingDim);
        expect(features.every(Number.isFinite)).to.equal(true);
      } finally {
        model.dispose();
      }
    });
  }
});
