import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, info, liveModelCount } from '../../lib';
import type { Model } from '../../lib';
import { mirrored, syntheticIdentities } from './synthetic-identities';

const H = 96;
const W = 96;

function cnn4(seed = 2, classes = 4): Promise<Model> {
  return createModel({
    arch: 'sphere-cnn4',
    classes,
    head: { kind: 'sphere', m: 4 },
    device: 'cpu',
    seed,
  });
}

describe('model behaviour', () => {
  const data = syntheticIdentities({
    identities: 4,
    imagesPerIdentity: 2,
    height: H,
    width: W,
    seed: 31,
  });
  const step = { ...data, lr: 0.01, lambda: 50 };

  it('embeds deterministically, and a seed makes initialisation reproducible', async () => {
    const [a, b, c] = await Promise.all([cnn4(2), cnn4(2), cnn4(3)]);
    const first = await a.embed(data.images, data.n);
    expect(await a.embed(data.images, data.n)).to.deep.equal(first);
    expect(await b.embed(data.images, data.n)).to.deep.equal(first);
    expect(await c.embed(data.images, data.n)).not.to.deep.equal(first);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('embeds each image on its own (batch composition does not change a row)', async () => {
    const model = await cnn4();
    const all = await model.embed(data.images, data.n);
    const image = H * W * 3;
    const third = await model.embed(data.images.subarray(2 * image, 3 * image), 1);
    expectClose(third, all.subarray(2 * 512, 3 * 512), 1e-5);
    model.dispose();
  });

  it('flips exactly the images whose mask byte is set, in embed and in trainStep', async () => {
    const flip = Uint8Array.from([1, 0, 0, 1, 1, 0, 1, 0]);
    const byHand = new Uint8Array(data.images);
    const image = H * W * 3;
    const flippedAll = mirrored(data.images, data.n, H, W);
    flip.forEach(
      (f, i) => f && byHand.set(flippedAll.subarray(i * image, (i + 1) * image), i * image),
    );

    const [a, b] = await Promise.all([cnn4(4), cnn4(4)]);
    expect(await a.embed(data.images, data.n, flip)).to.deep.equal(await b.embed(byHand, data.n));
    expect(await a.embed(data.images, data.n, flip)).not.to.deep.equal(
      await b.embed(data.images, data.n),
    );
    const stepA = await a.trainStep({ ...step, flip });
    const stepB = await b.trainStep({ ...step, images: byHand });
    expect(stepA.loss).to.equal(stepB.loss);
    expect(await a.embed(data.images, data.n)).to.deep.equal(await b.embed(data.images, data.n));
    a.dispose();
    b.dispose();
  });

  it('gives the same embeddings and steps with the channels-last layout as with NCHW', async () => {
    const arch = 'sphere4' as const;
    const make = async (channelsLast: boolean): Promise<Model> => {
      process.env.SPHEREFACE_CHANNELS_LAST = channelsLast ? '1' : '0';
      try {
        return await createModel({
          arch,
          classes: 4,
          head: { kind: 'sphere', m: 4 },
          device: 'cpu',
          seed: 8,
        });
      } finally {
        delete process.env.SPHEREFACE_CHANNELS_LAST;
      }
    };
    const [last, first] = [await make(true), await make(false)];
    const faces = syntheticIdentities({
      identities: 4,
      imagesPerIdentity: 1,
      height: 112,
      width: 96,
      seed: 9,
    });
    const flip = Uint8Array.from([0, 1, 1, 0]);
    expectClose(
      await last.embed(faces.images, faces.n, flip),
      await first.embed(faces.images, faces.n, flip),
      1e-4,
    );
    for (let i = 0; i < 2; i++) {
      const a = await last.trainStep({ ...faces, flip, lr: 0.01, lambda: 20 });
      const b = await first.trainStep({ ...faces, flip, lr: 0.01, lambda: 20 });
      expect(Math.abs(a.loss - b.loss)).to.be.below(1e-4 * Math.max(1, b.loss));
    }
    expectClose(
      await last.embed(faces.images, faces.n),
      await first.embed(faces.images, faces.n),
      1e-3,
    );
    last.dispose();
    first.dispose();
  });

  it('queues overlapping calls on one model and runs them in call order', async () => {
    const [queued, sequential] = await Promise.all([cnn4(6), cnn4(6)]);
    const order: string[] = [];
    const calls = [
      queued.trainStep(step).then((r) => (order.push('step1'), r)),
      queued.embed(data.images, data.n).then((r) => (order.push('embed'), r)),
      queued.trainStep(step).then((r) => (order.push('step2'), r)),
    ] as const;
    expect(queued.pending).to.equal(3);
    const [step1, between, step2] = await Promise.all(calls);
    expect(order).to.deep.equal(['step1', 'embed', 'step2']);
    // The same calls awaited one by one on a same-seed model give the same numbers.
    expect((await sequential.trainStep(step)).loss).to.equal(step1.loss);
    expect(await sequential.embed(data.images, data.n)).to.deep.equal(between);
    expect((await sequential.trainStep(step)).loss).to.equal(step2.loss);
    queued.dispose();
    sequential.dispose();
  });

  it('keeps the event loop ticking during a training step', async () => {
    const model = await createModel({
      arch: 'sphere4',
      classes: 4,
      head: { kind: 'sphere', m: 4 },
      device: 'cpu',
      seed: 1,
    });
    const big = syntheticIdentities({
      identities: 4,
      imagesPerIdentity: 8,
      height: 112,
      width: 96,
      seed: 2,
    });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = Date.now();
    await model.trainStep({ ...big, lr: 0.01, lambda: 10 });
    const elapsed = Date.now() - started;
    clearInterval(timer);
    model.dispose();
    expect(elapsed).to.be.greaterThan(20); // long enough that a blocked loop would show
    expect(ticks).to.be.greaterThan(elapsed / 10);
  });

  it('counts live models and refuses dispose while calls are in flight', async () => {
    const before = liveModelCount();
    const model = await cnn4();
    expect(liveModelCount()).to.equal(before + 1);
    const running = model.trainStep(step);
    expect(() => model.dispose()).to.throw(/still running; await them first/);
    await running;
    // A save, from its call: it checks its path before it reaches the native queue.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-dispose-')), 'm.sfm');
    const saving = model.save(file);
    expect(() => model.dispose()).to.throw(/still running; await them first/);
    await saving;
    expect(fs.statSync(file).size).to.be.greaterThan(0);
    model.dispose();
    model.dispose(); // twice is fine
    expect(liveModelCount()).to.equal(before);
    expect(() => model.parameterCount()).to.throw(/disposed/);
    expect(() => model.setThreshold(0.3, 'p')).to.throw(/model is disposed/);
    let error: unknown;
    await model.embed(data.images, data.n).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/disposed/);
  });

  it('does not update the weights when asked for lr 0 (and reports the same loss twice)', async () => {
    const model = await cnn4();
    const a = await model.trainStep({ ...step, lr: 0 });
    const b = await model.trainStep({ ...step, lr: 0 });
    expect(b.loss).to.equal(a.loss);
    model.dispose();
  });

  describe('rejects bad input with an error naming it', () => {
    let model: Model;
    before(async () => {
      model = await cnn4();
    });
    after(() => model.dispose());

    const cases: [string, () => Promise<unknown>, RegExp][] = [
      [
        'a label equal to classes',
        () => model.trainStep({ ...step, labels: Int32Array.from([0, 1, 2, 4, 0, 1, 2, 3]) }),
        /labels\[3\] = 4 is outside 0\.\.3/,
      ],
      [
        'a negative label',
        () => model.trainStep({ ...step, labels: Int32Array.from([0, -1, 2, 3, 0, 1, 2, 3]) }),
        /labels\[1\] = -1/,
      ],
      [
        'n that does not match the images',
        () => model.trainStep({ ...step, n: 7 }),
        /^n is 7 but images holds 8 image\(s\) of sphere-cnn4's height 96 x width 96 x 3 = 27648 bytes \(221184 bytes\)$/,
      ],
      [
        'n far past the images',
        () => model.embed(data.images.subarray(0, 4 * 27648), 1e9),
        /^n is 1000000000 but images holds 4 image\(s\)/,
      ],
      [
        'images that are not whole images of the net',
        () => model.embed(data.images.subarray(0, 27648 + 5), 1),
        /^images holds 27653 bytes, 27653 per image for n = 1, but sphere-cnn4 takes/,
      ],
      [
        'labels shorter than n',
        () => model.trainStep({ ...step, labels: new Int32Array(3) }),
        /labels to hold n = 8/,
      ],
      [
        'NaN lr',
        () => model.trainStep({ ...step, lr: NaN }),
        /finite number for lr but received NaN/,
      ],
      [
        'negative lambda',
        () => model.trainStep({ ...step, lambda: -1 }),
        /number >= 0 for lambda but received -1/,
      ],
      [
        'a flip mask of the wrong length',
        () => model.trainStep({ ...step, flip: new Uint8Array(2) }),
        /flip to hold n = 8/,
      ],
      [
        'images of another size, naming height and width',
        () => model.embed(new Uint8Array(2 * 112 * 96 * 3), 2),
        /sphere-cnn4 takes height 96 x width 96/,
      ],
      [
        'a non-integer n',
        () => model.embed(data.images, 1.5),
        /integer >= 1 for n but received 1.5/,
      ],
    ];
    for (const [name, call, message] of cases) {
      it(name, async () => {
        let error: unknown;
        try {
          await call();
        } catch (caught) {
          error = caught;
        }
        expect(error).to.be.instanceOf(Error);
        expect((error as Error).message).to.match(message);
      });
    }

    it('bad model options', async () => {
      const base = {
        arch: 'sphere4' as const,
        classes: 3,
        head: { kind: 'sphere' as const, m: 4 },
        device: 'cpu' as const,
      };
      const bad: [object, RegExp][] = [
        [{ ...base, arch: 'sphere5' }, /one of sphere-cnn4, .* for arch but received 'sphere5'/],
        [{ ...base, classes: 1 }, /integer in 2\.\.\d+ for classes but received 1/],
        [{ ...base, head: { kind: 'sphere', m: 7 } }, /integer in 1\.\.6 for head\.m/],
        [
          { ...base, head: { kind: 'cos', m: 0.35, scale: 0 } },
          /finite number > 0 for head\.scale/,
        ],
        [{ ...base, device: 'tpu' }, /one of auto, cpu, cuda for device but received 'tpu'/],
        [{ ...base, std: 0 }, /positive number for std/],
      ];
      for (const [options, message] of bad) {
        let error: unknown;
        await createModel(options as never).catch((e: unknown) => (error = e));
        expect(String(error)).to.match(message);
      }
    });

    it("device 'cuda' without CUDA", async function () {
      if (info().cuda.available) this.skip();
      let error: unknown;
      await createModel({
        arch: 'sphere4',
        classes: 3,
        head: { kind: 'sphere', m: 4 },
        device: 'cuda',
      }).catch((e: unknown) => (error = e));
      expect(String(error)).to.match(/device 'cuda' was requested, but this libtorch has no CUDA/);
    });
  });
});

function expectClose(actual: Float32Array, expected: Float32Array, tolerance: number): void {
  expect(actual.length).to.equal(expected.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  expect(worst).to.be.at.most(tolerance * Math.max(1, scale));
}
