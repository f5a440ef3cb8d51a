// The margin heads the fused margin-softmax op implements (see native/ops/margin_softmax.h).
import type { NativeMarginHead } from '../native/loss-binding';
import { describeReceived } from '../util/describe-received';

/** SphereFace A-Softmax (integer m in 1..6, lambda >= 0, default 0), CosFace and ArcFace. */
export type MarginHead =
  | { kind: 'sphere'; m: number; lambda?: number }
  | { kind: 'cos'; m: number; scale: number }
  | { kind: 'arc'; m: number; scale: number };

export const HEAD_KINDS = ['sphere', 'cos', 'arc'] as const;

/** Each head at its usual settings: the paper's m = 4; CosFace's and ArcFace's papers' m and s. */
export const HEAD_DEFAULTS = {
  sphere: { kind: 'sphere', m: 4 },
  cos: { kind: 'cos', m: 0.35, scale: 64 },
  arc: { kind: 'arc', m: 0.5, scale: 64 },
} as const;

/** The native form of a validated head: sphere's lambda defaults to 0. */
export function toNativeHead(head: MarginHead): NativeMarginHead {
  return head.kind === 'sphere'
    ? { kind: 'sphere', m: head.m, scale: 1, lambda: head.lambda ?? 0 }
    : { kind: head.kind, m: head.m, scale: head.scale, lambda: 0 };
}

/**
 * Throws a RangeError naming the bad field and value when `head` is not a valid margin head;
 * `what` names the argument in the message.
 */
export function validateMarginHead(head: MarginHead, what = 'head'): void {
  if (typeof head !== 'object' || head === null) {
    throw new TypeError(`Expected a margin head object for ${what} but received ${String(head)}`);
  }
  const kind: unknown = (head as { kind?: unknown }).kind;
  if (!(HEAD_KINDS as readonly unknown[]).includes(kind)) {
    throw new RangeError(
      `Expected 'sphere', 'cos' or 'arc' for ${what}.kind but received ${describeReceived(kind)}`,
    );
  }
  const m: unknown = head.m;
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
