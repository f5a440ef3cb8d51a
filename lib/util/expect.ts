// Argument checks shared by every layer, run before anything native or heavy: each error names
// the argument and what was received ("Expected an integer >= 1 for epochs but received '2'").

import { describeReceived } from './describe-received';

/**
 * The most threads any thread count may ask for: far beyond the cores of any machine (the
 * largest have a few hundred), and low enough that libtorch's OpenMP runtime, which allocates
 * its per-thread state up front, and our worker pools stay within memory.
 */
export const MAX_THREADS = 1024;

export function fail(expected: string, name: string, value: unknown, ErrorType = TypeError): never {
  throw new ErrorType(`Expected ${expected} for ${name} but received ${describeReceived(value)}`);
}

export function expectFinite(value: unknown, name: string, min = -Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail('a finite number', name, value);
  if (value < min) fail(`a number >= ${min}`, name, value, RangeError);
  return value;
}

/** An integer in min..max: a TypeError for a non-number, a RangeError for a number outside. */
export function expectInteger(
  value: unknown,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    fail(`an integer ${range}`, name, value, typeof value === 'number' ? RangeError : TypeError);
  }
  return value;
}

/** A non-empty path string; `what` says what it should name ("a file path", "a folder path"). */
export function expectPath(value: unknown, name: string, what = 'a file path'): string {
  if (typeof value !== 'string' || value === '') fail(what, name, value);
  return value;
}

/** A non-null object (an options bag). */
export function expectObject(value: unknown, name: string, what = 'an options object'): object {
  if (typeof value !== 'object' || value === null) fail(what, name, value);
  return value;
}
