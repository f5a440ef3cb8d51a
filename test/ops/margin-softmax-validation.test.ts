import { expect } from 'chai';
import { marginSoftmaxLoss } from '../../lib';
import { validateMarginHead } from '../../lib/ops/margin-head';
import type { MarginHead } from '../../lib/ops/margin-head';
import type { MarginSoftmaxInput } from '../../lib/ops/margin-softmax';

async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  expect(error, 'expected the call to reject').to.be.instanceOf(Error);
  expect((error as Error).message).to.match(message);
}

function validInput(): MarginSoftmaxInput {
  return {
    features: new Float32Array([1, 0, 0, 1, 0.5, 0.5]),
    weight: new Float32Array([1, 0, 0, 1]),
    labels: new Int32Array([0, 1, 1]),
    dim: 2,
    head: { kind: 'sphere', m: 4 },
  };
}

describe('marginSoftmaxLoss input checks', () => {
  it('accepts the valid input the other cases start from', async () => {
    const result = await marginSoftmaxLoss(validInput());
    expect(result.loss).to.be.a('number');
  });

  const cases: [string, (input: MarginSoftmaxInput) => void, RegExp][] = [
    [
      'features whose length is not a multiple of dim',
      (i) => (i.features = new Float32Array(5)),
      /features\.length.*dim 2.*5/,
    ],
    [
      'weight whose length is not a multiple of dim',
      (i) => (i.weight = new Float32Array(3)),
      /weight\.length.*dim 2.*3/,
    ],
    [
      'a label count that does not match the batch',
      (i) => (i.labels = new Int32Array([0, 1])),
      /3 labels.*received 2/,
    ],
    [
      'a negative label',
      (i) => (i.labels = new Int32Array([0, -1, 1])),
      /labels\[1\].*\[0, 2\).*-1/,
    ],
    [
      'a label equal to classes',
      (i) => (i.labels = new Int32Array([0, 2, 1])),
      /labels\[1\].*\[0, 2\).*2/,
    ],
    [
      'an empty batch',
      (i) => ((i.features = new Float32Array(0)), (i.labels = new Int32Array(0))),
      /empty/,
    ],
    ['NaN in features', (i) => (i.features[3] = NaN), /features\[3\].*NaN/],
    ['Infinity in features', (i) => (i.features[4] = Infinity), /features\[4\].*Infinity/],
    ['NaN in weight', (i) => (i.weight[1] = NaN), /weight\[1\].*NaN/],
    ['-Infinity in weight', (i) => (i.weight[2] = -Infinity), /weight\[2\].*-Infinity/],
    ['a dim of zero', (i) => (i.dim = 0), /dim.*0/],
    ['a non-integer dim', (i) => (i.dim = 1.5), /dim.*1\.5/],
    [
      'a numeric string for dim, quoted so it does not read as a valid value',
      (i) => ((i as unknown as { dim: string }).dim = '4'),
      /^Expected an integer >= 1 for dim but received '4'$/,
    ],
    [
      'a string for head',
      (i) => ((i as unknown as { head: string }).head = 'sphere'),
      /^Expected a margin head object for head but received 'sphere'$/,
    ],
    [
      'a Float64Array weight with Float32Array features',
      (i) => ((i as unknown as { weight: Float64Array }).weight = new Float64Array(4)),
      /weight.*Float64Array/,
    ],
    [
      'labels that are not an Int32Array',
      (i) => ((i as unknown as { labels: number[] }).labels = [0, 1, 1]),
      /Int32Array for labels/,
    ],
    [
      'a bias for a head other than softmax',
      (i) => (i.bias = new Float32Array(2)),
      /no bias for the sphere head.*received Float32Array/,
    ],
    [
      'the softmax head without a bias',
      (i) => (i.head = { kind: 'softmax' }),
      /Float32Array of 2 values for bias.*received none/,
    ],
    [
      'a softmax bias of the wrong length',
      (i) => ((i.head = { kind: 'softmax' }), (i.bias = new Float32Array(3))),
      /2 values for bias.*received 3/,
    ],
    [
      'a Float64Array softmax bias with Float32Array features',
      (i) => (
        (i.head = { kind: 'softmax' }),
        ((i as { bias?: unknown }).bias = new Float64Array(2))
      ),
      /Float32Array for bias.*Float64Array/,
    ],
    [
      'NaN in the softmax bias',
      (i) => ((i.head = { kind: 'softmax' }), (i.bias = new Float32Array([0, NaN]))),
      /bias\[1\].*NaN/,
    ],
  ];
  for (const [what, change, message] of cases) {
    it(`rejects ${what}`, async () => {
      const input = validInput();
      change(input);
      await expectRejection(marginSoftmaxLoss(input), message);
    });
  }

  for (const Type of [Float32Array, Float64Array]) {
    it(`names the first value that is not finite, deep in a larger ${Type.name} input`, async () => {
      const dim = 8;
      const make = (rows: number) => {
        const values = new Type(rows * dim);
        for (let i = 0; i < values.length; i++) values[i] = Math.sin(i);
        return values;
      };
      const input = {
        features: make(5),
        weight: make(40),
        labels: new Int32Array([0, 1, 2, 3, 39]),
        dim,
        head: { kind: 'sphere' as const, m: 4 },
      };
      input.weight[37 * dim + 5] = -Infinity;
      input.weight[38 * dim + 1] = NaN; // a later one, not reported
      await expectRejection(
        marginSoftmaxLoss(input as MarginSoftmaxInput),
        new RegExp(`weight\\[${37 * dim + 5}\\] \\(row 37\\) is -Infinity`),
      );
      input.features[2 * dim] = NaN; // features are checked first
      await expectRejection(
        marginSoftmaxLoss(input as MarginSoftmaxInput),
        new RegExp(`features\\[${2 * dim}\\] \\(row 2\\) is NaN`),
      );
    });
  }

  const badHeads: [string, unknown, RegExp][] = [
    ['a non-integer sphere m', { kind: 'sphere', m: 2.5 }, /1\.\.6 for head\.m but received 2\.5/],
    ['sphere m = 0', { kind: 'sphere', m: 0 }, /1\.\.6 for head\.m but received 0/],
    ['sphere m = 7', { kind: 'sphere', m: 7 }, /1\.\.6 for head\.m but received 7/],
    ['a NaN m', { kind: 'cos', m: NaN, scale: 30 }, /head\.m.*NaN/],
    ['a negative lambda', { kind: 'sphere', m: 4, lambda: -1 }, /head\.lambda.*-1/],
    ['cos scale = 0', { kind: 'cos', m: 0.35, scale: 0 }, /> 0 for head\.scale but received 0 /],
    ['a negative arc scale', { kind: 'arc', m: 0.5, scale: -2 }, /head\.scale.*-2/],
    ['an infinite scale', { kind: 'arc', m: 0.5, scale: Infinity }, /head\.scale.*Infinity/],
    [
      'arc m = pi',
      { kind: 'arc', m: Math.PI, scale: 30 },
      /\[0, pi\) for head\.m but received 3\.14/,
    ],
    ['a negative cos m', { kind: 'cos', m: -0.1, scale: 30 }, /head\.m.*-0\.1/],
    ['an unknown kind', { kind: 'norm', m: 1 }, /head\.kind.*'norm'/],
    ['a softmax head with a margin', { kind: 'softmax', m: 1 }, /softmax head has no m/],
    [
      'a softmax head with a scale',
      { kind: 'softmax', scale: 30 },
      /softmax head has no scale, but head\.scale is given/,
    ],
    [
      'an easy margin on the sphere head',
      { kind: 'sphere', m: 4, easyMargin: true },
      /head\.easyMargin applies to the arc head only, not 'sphere'/,
    ],
    [
      'an easy margin that is not a boolean',
      { kind: 'arc', m: 0.5, scale: 30, easyMargin: 1 },
      /boolean for head\.easyMargin but received 1 of type number/,
    ],
  ];
  for (const [what, head, message] of badHeads) {
    it(`rejects ${what}`, async () => {
      const input = validInput();
      input.head = head as MarginHead;
      await expectRejection(marginSoftmaxLoss(input), message);
      expect(() => validateMarginHead(head as MarginHead)).to.throw(message);
    });
  }

  it('checks the head again natively, naming the field', async () => {
    // Past the TypeScript checks, the op's own TORCH_CHECK answers with an Error, not an abort.
    const { native } = await import('../../lib/native');
    const input = validInput();
    await expectRejection(
      native().marginSoftmaxLoss({
        ...input,
        bias: null,
        head: { kind: 'sphere', m: 9, scale: 1, lambda: 0, easyMargin: false },
        device: 'cpu',
      }),
      /sphere m must be an integer in 1\.\.6 but is 9/,
    );
    await expectRejection(
      native().marginSoftmaxLoss({
        ...input,
        labels: new Int32Array([0, 5, 1]),
        bias: null,
        head: { kind: 'cos', m: 0.2, scale: 4, lambda: 0, easyMargin: false },
        device: 'cpu',
      }),
      /labels must be in \[0, 2\)/,
    );
    const none = { scale: 1, lambda: 0, easyMargin: false };
    await expectRejection(
      native().marginSoftmaxLoss({
        ...input,
        bias: new Float32Array(2),
        head: { ...none, kind: 'softmax', m: 0.5 },
        device: 'cpu',
      }),
      /softmax has no margin, but m is 0\.5/,
    );
    await expectRejection(
      native().marginSoftmaxLoss({
        ...input,
        bias: null,
        head: { ...none, kind: 'cos', m: 0.2, scale: 4, easyMargin: true },
        device: 'cpu',
      }),
      /the easy margin is ArcFace's only/,
    );
    await expectRejection(
      native().marginSoftmaxLoss({
        ...input,
        bias: null,
        head: { ...none, kind: 'softmax', m: 0 },
        device: 'cpu',
      }),
      /the softmax head needs a bias/,
    );
  });
});

describe('marginSoftmaxLoss scheduling', () => {
  it('runs off the event loop: a setImmediate queued after the call runs before it resolves', async () => {
    const [batch, classes, dim] = [256, 4000, 128];
    const features = new Float32Array(batch * dim).fill(0.01);
    const weight = new Float32Array(classes * dim).fill(0.02);
    const labels = new Int32Array(batch);
    let ticked = false;
    const pending = marginSoftmaxLoss({
      features,
      weight,
      labels,
      dim,
      head: { kind: 'cos', m: 0.35, scale: 30 },
    });
    setImmediate(() => (ticked = true));
    await pending;
    expect(ticked).to.equal(true);
  });
});
