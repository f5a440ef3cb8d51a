import { expect } from 'chai';
import { learningRate, validateSchedule, type LrSchedule } from '../../lib/train/schedule';
import { lambdaAt, stepLambda, DEFAULT_LAMBDA } from '../../lib/train/lambda-schedule';

const close = (a: number, b: number) => expect(a).to.be.closeTo(b, 1e-12);

describe('learning-rate schedules', () => {
  it('multistep follows the paper: 0.1, then /10 at 16k and 24k', () => {
    const paper: LrSchedule = { kind: 'multistep' };
    close(learningRate(paper, 0.1, 0, 28000), 0.1);
    close(learningRate(paper, 0.1, 15999, 28000), 0.1);
    close(learningRate(paper, 0.1, 16000, 28000), 0.01);
    close(learningRate(paper, 0.1, 23999, 28000), 0.01);
    close(learningRate(paper, 0.1, 24000, 28000), 0.001);
    close(learningRate(paper, 0.1, 27999, 28000), 0.001);
    const own: LrSchedule = { kind: 'multistep', milestones: [2, 5], gamma: 0.5 };
    const got = [0, 1, 2, 4, 5, 9].map((i) => learningRate(own, 1, i, 10));
    expect(got).to.deep.equal([1, 1, 0.5, 0.5, 0.25, 0.25]);
  });

  it('cosine falls from lr to minLr over the run', () => {
    const cosine: LrSchedule = { kind: 'cosine' };
    close(learningRate(cosine, 0.1, 0, 100), 0.1);
    close(learningRate(cosine, 0.1, 25, 100), (0.1 * (1 + Math.SQRT1_2)) / 2);
    close(learningRate(cosine, 0.1, 50, 100), 0.05);
    close(learningRate(cosine, 0.1, 100, 100), 0);
    close(learningRate({ kind: 'cosine', minLr: 0.02 }, 0.1, 50, 100), 0.06);
  });

  it('linear warm-up composes with any schedule and never starts at zero', () => {
    const warm: LrSchedule = { kind: 'cosine', warmup: 10 };
    close(learningRate(warm, 0.1, 0, 100), 0.01);
    close(learningRate(warm, 0.1, 4, 100), 0.05);
    close(learningRate(warm, 0.1, 9, 100), 0.1);
    close(learningRate(warm, 0.1, 10, 100), 0.1); // cosine starts after the warm-up
    close(learningRate(warm, 0.1, 55, 100), 0.05); // halfway through the remaining 90
    close(learningRate({ kind: 'constant', warmup: 4 }, 0.2, 1, 10), 0.1);
    close(learningRate({ kind: 'multistep', milestones: [3], warmup: 4 }, 1, 3, 10), 0.1);
  });

  it('rejects bad schedules naming the field', () => {
    expect(() => validateSchedule({ kind: 'multistep', milestones: [5, 3] })).to.throw(
      /milestones/,
    );
    expect(() => validateSchedule({ kind: 'cosine', warmup: -1 })).to.throw(/warmup/);
    expect(() => validateSchedule({ kind: 'multistep', gamma: 0 })).to.throw(/gamma/);
    expect(() => validateSchedule({ kind: 'step' } as unknown as LrSchedule)).to.throw(/kind/);
  });
});

describe('lambda annealing', () => {
  it('follows max(5, 1000 (1 + 0.12 step)^-1) by default, steps counted from 1', () => {
    close(lambdaAt(DEFAULT_LAMBDA, 1), 1000 / 1.12);
    close(lambdaAt(DEFAULT_LAMBDA, 100), 1000 / 13);
    close(lambdaAt(DEFAULT_LAMBDA, 1650), 1000 / 199);
    close(lambdaAt(DEFAULT_LAMBDA, 1658), 1000 / 199.96); // still above 5
    close(lambdaAt(DEFAULT_LAMBDA, 1659), 5); // 1000 / 200.08 < 5
    close(lambdaAt(DEFAULT_LAMBDA, 1e6), 5);
    close(lambdaAt({ base: 100, gamma: 1, power: 2, min: 0 }, 3), 100 / 16);
  });

  it('refuses a step, an iteration or a schedule that gives no number', () => {
    expect(() => lambdaAt(DEFAULT_LAMBDA, NaN)).to.throw(
      RangeError,
      'Expected an integer >= 1 for step but received NaN',
    );
    expect(() => lambdaAt(DEFAULT_LAMBDA, 0)).to.throw(/integer >= 1 for step/);
    expect(() => lambdaAt({ ...DEFAULT_LAMBDA, power: -1 }, 3)).to.throw(/lambda\.power/);
    expect(() => learningRate({ kind: 'constant' }, 0.1, -1, 10)).to.throw(
      'Expected an integer >= 0 for iteration but received -1',
    );
    expect(() => learningRate({ kind: 'constant' }, 0.1, 1, 0)).to.throw(
      'Expected an integer >= 1 for totalIterations but received 0',
    );
    expect(() => learningRate({ kind: 'constant' }, NaN, 1, 10)).to.throw(/baseLr/);
    expect(() => learningRate({ kind: 'step' } as never, 0.1, 1, 10)).to.throw(
      'Expected schedule.kind to be one of multistep, cosine, constant but received step',
    );
  });

  it('is off for the cos and arc heads and can be switched off for sphere', () => {
    expect(stepLambda({ kind: 'cos', m: 0.35, scale: 64 }, DEFAULT_LAMBDA, 0)).to.equal(undefined);
    expect(stepLambda({ kind: 'arc', m: 0.5, scale: 64 }, DEFAULT_LAMBDA, 0)).to.equal(undefined);
    expect(stepLambda({ kind: 'sphere', m: 4, lambda: 3 }, false, 50)).to.equal(3);
    expect(stepLambda({ kind: 'sphere', m: 4 }, false, 50)).to.equal(0);
    // After 100 steps, the 101st: the original's counter reads 101 when it computes lambda.
    close(stepLambda({ kind: 'sphere', m: 4 }, DEFAULT_LAMBDA, 100)!, 1000 / 13.12);
    close(stepLambda({ kind: 'sphere', m: 4 }, DEFAULT_LAMBDA, 0)!, 1000 / 1.12);
  });
});
