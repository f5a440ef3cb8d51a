// A verification threshold stored with a model: the value `verify` compares cosines with, and the
// protocol (and data) that found it, so that a verdict can say where its threshold came from.
import { describeReceived } from '../util/describe-received';

/** The longest protocol text a model file keeps (bytes of UTF-8). */
export const MAX_PROTOCOL_BYTES = 4000;

export interface StoredThreshold {
  /** Same person when the cosine similarity is above it. */
  value: number;
  /** How it was found: the evaluation's protocol and data. */
  protocol: string;
}

/** A threshold for cosine similarities: a number in -1..1, past which every pair gets one verdict. */
export function expectCosineThreshold(value: unknown, name = 'threshold'): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(
      `Expected a finite number for ${name} but received ${describeReceived(value)}`,
    );
  }
  if (Math.abs(value) > 1) {
    throw new RangeError(
      `Expected a cosine similarity in -1..1 for ${name} but received ${value}: past them ` +
        'every pair would get one verdict',
    );
  }
  return value;
}

export function expectThreshold(value: unknown, protocol: unknown): StoredThreshold {
  expectCosineThreshold(value);
  if (typeof protocol !== 'string' || protocol.trim() === '') {
    throw new TypeError(
      'Expected a description of how the threshold was found for protocol but received ' +
        (typeof protocol === 'string' ? 'an empty string' : describeReceived(protocol)),
    );
  }
  const bytes = Buffer.byteLength(protocol, 'utf8');
  if (bytes > MAX_PROTOCOL_BYTES) {
    throw new RangeError(
      `Expected at most ${MAX_PROTOCOL_BYTES} bytes of UTF-8 for protocol but received ${bytes}`,
    );
  }
  return { value: value as number, protocol };
}
