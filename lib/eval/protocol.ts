// The verification protocol options, their defaults, and the sentence a report prints so every
// figure says how it was computed (implementations disagree, and the differences move LFW
// accuracy by tenths of a percent).
import { checkFlipMode, type FlipMode } from '../models/embed-images';
import type { OptionKeys } from '../util/option-keys';
import { resolveThresholdOptions, type ThresholdOptions } from './verification';

export type { FlipMode } from '../models/embed-images';

export interface ProtocolOptions {
  /**
   * How each image's horizontally flipped copy is used: 'concat' (default, the original
   * SphereFace evaluation) appends its features, 'sum' adds them, 'none' ignores the flip.
   */
  flip?: FlipMode;
  /**
   * Subtract, per fold, the mean feature of the training folds' pairs (both sides of every pair,
   * as the original does) before the cosine. Default false; true matches the original.
   */
  subtractMean?: boolean;
  threshold?: ThresholdOptions;
}

export const PROTOCOL_OPTION_KEYS: OptionKeys<ProtocolOptions> = {
  flip: true,
  subtractMean: true,
  threshold: true,
};

export interface Protocol {
  flip: FlipMode;
  subtractMean: boolean;
  threshold: Required<ThresholdOptions>;
}

export function resolveProtocol(options: ProtocolOptions = {}): Protocol {
  const flip = checkFlipMode(options.flip ?? 'concat');
  const subtractMean = options.subtractMean ?? false;
  if (typeof subtractMean !== 'boolean') {
    throw new Error(`Expected boolean for subtractMean but received ${String(subtractMean)}`);
  }
  return { flip, subtractMean, threshold: resolveThresholdOptions(options.threshold ?? {}) };
}

/** One sentence for reports: how the figure was computed. */
export function describeProtocol(protocol: Protocol, folds: number): string {
  const { flip, subtractMean } = protocol;
  const { candidates, steps } = protocol.threshold;
  const features = {
    concat: 'features of the image and its horizontal mirror concatenated',
    sum: 'features of the image and its horizontal mirror summed',
    none: 'features of the image alone (no mirror)',
  }[flip];
  const mean = subtractMean
    ? "minus the mean feature of the training folds' pairs"
    : 'without mean subtraction';
  const rule =
    candidates === 'grid'
      ? `the mean of all thresholds k/${steps} (k = -${steps}..${steps}) reaching the best accuracy on the other folds`
      : 'the mean of all midpoints between distinct training scores reaching the best accuracy on the other folds';
  const description =
    `${folds}-fold verification (folds in pairs-file order): cosine similarity of ${features}, ${mean}; ` +
    `threshold per fold = ${rule}; same when score > threshold; ± is the population std over folds.`;
  return description;
}
