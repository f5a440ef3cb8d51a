// The margin heads the fused margin-softmax op implements (see native/ops/margin_softmax.h).
import type { NativeMarginHead } from '../native/loss-binding';
import { describeReceived } from '../util/describe-received';
import { expectOptions, type OptionKeys } from '../util/option-keys';

/**
 * SphereFace A-Softmax (integer m in 1..6, lambda >= 0, default 0), CosFace, ArcFace (with
 * insightface's `easyMargin` when asked, default off) and the plain softmax (a linear layer with
 * bias, unnormalised weights, cross-entropy: the baseline the margins are measured against).
 */
export type MarginHead =
  | { kind: 'sphere'; m: number; lambda?: number }
  | { kind: 'cos'; m: number; scale: number }
  | { kind: 'arc'; m: number; scale: number; easyMargin?: boolean }
  | { kind: 'softmax' };

export const HEAD_KINDS = ['sphere', 'cos', 'arc', 'softmax'] as const;

/** Each kind's fields. */
const HEAD_KEYS: { [K in MarginHead['kind']]: OptionKeys<Extract<MarginHead, { kind: K }>> } = {
  sphere: { kind: true, m: true, lambda: true },
  cos: { kind: true, m: true, scale: true },
  arc: { kind: true, m: true, scale: true, easyMargin: true },
  softmax: { kind: true },
};

/** Each head at its usual settings: the paper's m = 4; CosFace's and ArcFace's papers' m and s. */
export const HEAD_DEFAULTS = {
  sphere: { kind: 'sphere', m: 4 },
  cos: { kind: 'cos', m: 0.35, scale: 64 },
  arc: { kind: 'arc', m: 0.5, scale: 64 },
  softmax: { kind: 'softmax' },
} as const;

/** The native form of a validated head: every field present, the unused ones neutral. */
export function toNativeHead(head: MarginHead): NativeMarginHead {
  const none = { m: 0, scale: 1, lambda: 0, easyMargin: false };
  switch (head.kind) {
    case 'sphere':
      return { ...none, kind: 'sphere', m: head.m, lambda: head.lambda ?? 0 };
    case 'cos':
      return { ...none, kind: 'cos', m: head.m, scale: head.scale };
    case 'arc':
      return {
        ...none,
        kind: 'arc',
        m: head.m,
        scale: head.scale,
        easyMargin: head.easyMargin ?? false,
      };
    case 'softmax':
      return { ...none, kind: 'softmax' };
  }
}

/** The head as the papers name it: "A-Softmax m=4", "CosFace m=0.35 s=64", "softmax". */
export function describeHead(head: MarginHead): string {
  switch (head.kind) {
    case 'sphere':
      return `A-Softmax m=${head.m}`;
    case 'cos':
      return `CosFace m=${head.m} s=${head.scale}`;
    case 'arc':
      return `ArcFace m=${head.m} s=${head.scale}${head.easyMargin ? ' (easy margin)' : ''}`;
    case 'softmax':
      return 'softmax';
  }
}

/**
 * Throws a RangeError naming the bad field and value when `head` is not a valid margin head;
 * `what` names the argument in the message.
 */
export function validateMarginHead(head: MarginHead, what = 'head'): void {
  if (typeof head !== 'object' || head === null) {
    throw new TypeError(
      `Expected a margin head object for ${what} but received ${describeReceived(head)}`,
    );
  }
  const kind: unknown = (head as { kind?: unknown }).kind;
  if (!(HEAD_KINDS as readonly unknown[]).includes(kind)) {
    throw new RangeError(
      `Expected 'sphere', 'cos', 'arc' or 'softmax' for ${what}.kind but received ${describeReceived(kind)}`,
    );
  }
  const easyMargin: unknown = (head as { easyMargin?: unknown }).easyMargin;
  if (easyMargin !== undefined && (kind !== 'arc' || typeof easyMargin !== 'boolean')) {
    throw new RangeError(
      kind === 'arc'
        ? `Expected a boolean for ${what}.easyMargin but received ${describeReceived(easyMargin)}`
        : `${what}.easyMargin applies to the arc head only, not '${kind}'`,
    );
  }
  if (kind === 'softmax') {
    for (const field of ['m', 'scale', 'lambda']) {
      if ((head as Record<string, unknown>)[field] !== undefined) {
        throw new RangeError(`The softmax head has no ${field}, but ${what}.${field} is given`);
      }
    }
  }
  expectOptions<MarginHead>(
    head,
    `${what} of kind '${kind}'`,
    HEAD_KEYS[kind as MarginHead['kind']],
    undefined,
    { s: 'scale', margin: 'm' }, // the papers' letters
  );
  if (kind === 'softmax') return;
  const m: unknown = (head as { m?: unknown }).m;
  if (typeof m !== 'number' || !Number.isFinite(m)) {
    throw new RangeError(
      `Expected a finite number for ${what}.m but received ${describeReceived(m)}`,
    );
  }
  switch (kind) {
    case 'sphere': {
      if (!Number.isInteger(m) || m < 1 || m > 6) {
        throw new RangeError(`Expected an integer in 1..6 for ${what}.m but received ${m}`);
      }
      const lambda: unknown = (head as { lambda?: unknown }).lambda;
      if (
        lambda !== undefined &&
        (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0)
      ) {
        throw new RangeError(
          `Expected a finite number >= 0 for ${what}.lambda but received ${describeReceived(lambda)}`,
        );
      }
      return;
    }
    case 'cos':
    case 'arc': {
      const limit = kind === 'cos' ? 2 : Math.PI;
      if (m < 0 || m >= limit) {
        const range = kind === 'cos' ? '[0, 2)' : '[0, pi)';
        throw new RangeError(`Expected a number in ${range} for ${what}.m but received ${m}`);
      }
      const scale: unknown = (head as { scale?: unknown }).scale;
      if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
        throw new RangeError(
          `Expected a finite number > 0 for ${what}.scale but received ${describeReceived(scale)}`,
        );
      }
      return;
    }
  }
}
