// Options bags are checked for names they do not know: a misspelt option (`batchsize`,
// `weightdecay`) would otherwise be ignored without a word, and its default used in its place.

import { expectObject } from './expect';
import { nearest } from './nearest-name';

/**
 * Every key of an options type, written once as an object so that the compiler checks the list:
 * a key missing from it, or one the type does not have, fails to compile.
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/**
 * `value` as an options object whose keys are all in `known`; else a TypeError naming the first
 * unknown key, the closest known one when it looks like a slip, and the keys there are.
 * A null value is refused too: no option takes null, and `??` would read it as "use the default".
 * `elsewhere` maps names that belong in another place (`lr` in `optimizer.lr`), or that other
 * code spells another way (`s` for `scale`), to the name to use.
 */
export function expectOptions<T extends object>(
  value: unknown,
  name: string,
  known: OptionKeys<T>,
  what?: string,
  elsewhere: Readonly<Record<string, string>> = {},
): T {
  expectObject(value, name, what);
  const names = Object.keys(known);
  for (const [key, given] of Object.entries(value as object)) {
    if (Object.hasOwn(known, key)) {
      if (given === null) {
        throw new TypeError(
          `Option '${key}' in ${name} is null; no option takes null (leave an optional one ` +
            'out for its default)',
        );
      }
      continue;
    }
    const near = Object.hasOwn(elsewhere, key) ? elsewhere[key] : nearest(key, names);
    const hint = near === undefined ? '' : ` (did you mean '${near}'?)`;
    throw new TypeError(
      `Unknown option '${key}' in ${name}${hint}; the options are ${names.join(', ')}`,
    );
  }
  return value as T;
}
