import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, loadModel, type Model } from '../../lib';
import { syntheticIdentities } from './synthetic-identities';
import { rejection } from '../rejection';

// The FNV-1a checksum the model file ends with, over every byte before it (its offset basis
// 1469598103934665603 = 0x14650fb0739d0383, prime 2^40 + 0x1b3), in four 16-bit limbs: a BigInt
// per byte takes tens of seconds over a model file.
function fnv1a(bytes: Uint8Array): bigint {
  let [h0, h1, h2, h3] = [0x0383, 0x739d, 0x0fb0, 0x1465];
  for (const byte of bytes) {
    h0 ^= byte;
    // h * (2^40 + 0x1b3): h * 0x1b3 plus h shifted left by 40 bits (into limbs 2 and 3).
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + Math.floor(t0 / 0x10000);
    const t2 = h2 * 0x1b3 + Math.floor(t1 / 0x10000) + ((h0 & 0xff) << 8);
    const t3 = h3 * 0x1b3 + Math.floor(t2 / 0x10000) + (h0 >>> 8) + ((h1 & 0xff) << 8);
    [h0, h1, h2, h3] = [t0 % 0x10000, t1 % 0x10000, t2 % 0x10000, t3 % 0x10000];
  }
  return (BigInt(h3) << 48n) | (BigInt(h2) << 32n) | (BigInt(h1) << 16n) | BigInt(h0);
}

function resealed(body: Buffer): Buffer {
  const sum = Buffer.alloc(8);
  sum.writeBigUInt64LE(fnv1a(body));
  return Buffer.concat([body, sum]);
}

/** A section as the model file stores one: u32 tag, u64 length, the bytes. */
function section(tag: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(tag, 0);
  head.writeBigUInt64LE(BigInt(payload.length), 4);
  return Buffer.concat([head, payload]);
}

function thresholdPayload(value: number, protocol: string): Buffer {
  const text = Buffer.from(protocol, 'utf8');
  const out = Buffer.alloc(12 + text.length);
  out.writeDoubleLE(value, 0);
  out.writeUInt32LE(text.length, 8);
  text.copy(out, 12);
  return out;
}

describe('model files: the stored threshold and weights-only files', () => {
  let dir: string;
  let model: Model;
  const file = (name: string) => path.join(dir, name);
  const data = syntheticIdentities({ identities: 4, imagesPerIdentity: 2, height: 96, width: 96 });
  const step = { ...data, lr: 0.01, lambda: 100 };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-sections-'));
    model = await createModel({
      arch: 'sphere-cnn4',
      classes: 4,
      head: { kind: 'sphere', m: 4 },
      device: 'cpu',
      seed: 5,
    });
    await model.trainStep(step); // momentum buffers exist
  });
  after(() => {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the threshold and its protocol through save and load', async () => {
    const protocol = '10-fold verification of the pairs in pairs.txt; threshold ≈ the mean';
    expect(model.threshold).to.equal(undefined);
    model.setThreshold(0.3125, protocol);
    await model.save(file('with-threshold.model'));
    const loaded = await loadModel(file('with-threshold.model'));
    try {
      expect(loaded.threshold).to.equal(0.3125);
      expect(loaded.thresholdProtocol).to.equal(protocol);
      // ...and again, through a model that was loaded.
      await loaded.save(file('again.model'));
    } finally {
      loaded.dispose();
    }
    const again = await loadModel(file('again.model'));
    expect([again.threshold, again.thresholdProtocol]).to.deep.equal([0.3125, protocol]);
    again.dispose();
  });

  it('writes the threshold as one section after the tensors, and reads files without one', async () => {
    const withThreshold = fs.readFileSync(file('with-threshold.model'));
    const bare = await createModel({
      arch: 'sphere-cnn4',
      classes: 4,
      head: { kind: 'sphere', m: 4 },
      device: 'cpu',
      seed: 5,
    });
    try {
      await bare.trainStep(step);
      await bare.save(file('bare.model'));
    } finally {
      bare.dispose();
    }
    const plain = fs.readFileSync(file('bare.model'));
    // The same model without a threshold: the bytes before the checksum, then the section.
    const expected = section(1, thresholdPayload(0.3125, model.thresholdProtocol!));
    expect(
      withThreshold
        .subarray(0, withThreshold.length - 8)
        .equals(Buffer.concat([plain.subarray(0, plain.length - 8), expected])),
    ).to.equal(true);
    const loaded = await loadModel(file('bare.model'));
    expect(loaded.threshold).to.equal(undefined);
    loaded.dispose();
  });

  it('skips a section it does not know, and names a damaged threshold section', async () => {
    const plain = fs.readFileSync(file('bare.model'));
    const body = plain.subarray(0, plain.length - 8);
    const unknown = file('unknown-section.model');
    fs.writeFileSync(
      unknown,
      resealed(
        Buffer.concat([
          body,
          section(99, Buffer.from('later')),
          section(1, thresholdPayload(0.5, 'p')),
        ]),
      ),
    );
    const loaded = await loadModel(unknown);
    expect([loaded.threshold, loaded.thresholdProtocol]).to.deep.equal([0.5, 'p']);
    loaded.dispose();

    const damaged = file('damaged-section.model');
    const payload = thresholdPayload(0.5, 'protocol');
    fs.writeFileSync(damaged, resealed(Buffer.concat([body, section(1, payload.subarray(0, 14))])));
    expect((await rejection(loadModel(damaged))).message).to.equal(
      `${damaged}: is corrupted (its threshold section)`,
    );
    const long = file('long-section.model');
    const header = section(1, payload).subarray(0, 12);
    header.writeBigUInt64LE(1n << 40n, 4);
    fs.writeFileSync(long, resealed(Buffer.concat([body, header, payload])));
    expect((await rejection(loadModel(long))).message).to.match(
      /long-section\.model: is truncated or corrupted \(section 1 of 1099511627776 bytes, \d+ left\)/,
    );
  });

  it('refuses a threshold that is not a finite cosine or a protocol that is empty or too long', () => {
    const before = model.threshold;
    expect(() => model.setThreshold(NaN, 'p')).to.throw(TypeError, /finite number for threshold/);
    const loose = model.setThreshold.bind(model) as (value: unknown, protocol: unknown) => void;
    expect(() => loose('0.3', 'p')).to.throw(
      TypeError,
      "Expected a finite number for threshold but received '0.3'",
    );
    for (const t of [1.0001, -1.5]) {
      expect(() => model.setThreshold(t, 'p')).to.throw(
        RangeError,
        `Expected a cosine similarity in -1..1 for threshold but received ${t}`,
      );
    }
    expect(model.threshold).to.equal(before);
    expect(() => model.setThreshold(0.3, '')).to.throw(TypeError, /for protocol/);
    expect(() => model.setThreshold(0.3, 'x'.repeat(4001))).to.throw(
      RangeError,
      /at most 4000 bytes of UTF-8 for protocol but received 4001/,
    );
  });

  it('writes a weights-only file of about half the size that embeds and verifies alike', async () => {
    await model.save(file('full.model'));
    await model.save(file('weights.model'), { weightsOnly: true });
    const full = fs.statSync(file('full.model')).size;
    const weights = fs.statSync(file('weights.model')).size;
    // One momentum buffer per weight: the full file holds every weight twice.
    const weightBytes = model.parameterCount() * 4;
    expect(full - weights).to.be.within(weightBytes, weightBytes * 1.01);
    expect(weights / full).to.be.within(0.49, 0.51);
    const light = await loadModel(file('weights.model'));
    try {
      expect(light.steps).to.equal(model.steps);
      expect(light.threshold).to.equal(model.threshold);
      expect(await light.embed(data.images, data.n)).to.deep.equal(
        await model.embed(data.images, data.n),
      );
    } finally {
      light.dispose();
    }
  });

  it('trains from a weights-only file with the momentum starting afresh', async () => {
    // Without a momentum buffer SGD's first update is lr * (gradient + decay), the same as a step
    // with momentum 0 from the full file; with the full file's buffers a momentum step differs.
    const [light, fullA, fullB] = await Promise.all([
      loadModel(file('weights.model')),
      loadModel(file('full.model')),
      loadModel(file('full.model')),
    ]);
    try {
      await light.trainStep({ ...step, momentum: 0.9 });
      await fullA.trainStep({ ...step, momentum: 0 });
      await fullB.trainStep({ ...step, momentum: 0.9 });
      const [a, b, c] = await Promise.all(
        [light, fullA, fullB].map((m) => m.embed(data.images, data.n)),
      );
      expect(a).to.deep.equal(b);
      expect(a).to.not.deep.equal(c);
    } finally {
      [light, fullA, fullB].forEach((m) => m.dispose());
    }
  });
});
