// The architectures by name and the input each expects.
import type { Arch } from './types';

/** Every architecture `createModel` builds. */
export const ARCHS: readonly Arch[] = [
  'sphere-cnn4',
  'sphere4',
  'sphere10',
  'sphere20',
  'sphere36',
  'sphere64',
];

/** Input height and width of `arch`: 96x96 for the seed's sphere-cnn4, 112x96 for the paper's nets. */
export function inputSizeOf(arch: Arch): { height: number; width: number } {
  if (!ARCHS.includes(arch)) {
    throw new TypeError(
      `Expected one of ${ARCHS.join(', ')} for arch but received ${describe(arch)}`,
    );
  }
  return arch === 'sphere-cnn4' ? { height: 96, width: 96 } : { height: 112, width: 96 };
}

/** How a received value is named in error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean')
    return `${String(value)} of type ${typeof value}`;
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return `a value of type ${typeof value}`;
}
