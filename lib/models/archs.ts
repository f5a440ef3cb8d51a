// The architectures by name and the input each expects: the one list (the addon builds each
// by its name, and a test checks that it builds exactly these).
import { describeReceived } from '../util/describe-received';

/**
 * Every architecture `createModel` builds. sphere20a is sphere20 with a bias in every residual
 * conv, as clcarwin/sphereface_pytorch builds it (importStateDict reads its weights).
 */
export const ARCHS = [
  'sphere-cnn4',
  'sphere4',
  'sphere10',
  'sphere20',
  'sphere20a',
  'sphere36',
  'sphere64',
] as const;

export type Arch = (typeof ARCHS)[number];

/** Input height and width of `arch`: 96x96 for the seed's sphere-cnn4, 112x96 for the paper's nets. */
export function inputSizeOf(arch: Arch): { height: number; width: number } {
  if (!(ARCHS as readonly string[]).includes(arch)) {
    throw new TypeError(
      `Expected one of ${ARCHS.join(', ')} for arch but received ${describeReceived(arch)}`,
    );
  }
  return arch === 'sphere-cnn4' ? { height: 96, width: 96 } : { height: 112, width: 96 };
}
