// Which thresholds `verify` can use. It compares the cosine of an image's and its mirror's
// features concatenated, with no mean subtracted: a threshold found under another protocol (or
// for raw pixels, or another net) would give wrong verdicts. eval --save-threshold and verify
// --summary both apply this rule.
import type { FlipMode } from '../models/embed-images';
import { readRegularFileSync } from '../util/regular-file';
import { expectCosineThreshold } from '../models/threshold';

/** The eval flags whose protocol differs from verify's, e.g. ['--flip sum', '--subtract-mean']. */
export function flagsUnlikeVerify(protocol: { flip: FlipMode; subtractMean: boolean }): string[] {
  return [
    ...(protocol.flip === 'concat' ? [] : [`--flip ${protocol.flip}`]),
    ...(protocol.subtractMean ? ['--subtract-mean'] : []),
  ];
}

/** A threshold read from a summary.json, and the arch of the model it evaluated when it says. */
export interface SummaryThreshold {
  threshold: number;
  arch?: string;
}

interface Summary {
  evaluated?: unknown;
  arch?: unknown;
  config?: { arch?: unknown };
  evaluation?: { threshold?: unknown; protocol?: { flip?: unknown; subtractMean?: unknown } };
}

/**
 * The threshold of an eval, train or demo summary.json (`evaluation.threshold`); refused when
 * the summary says it was found for raw pixels or under a protocol verify does not use.
 */
export function thresholdFromSummary(file: string): SummaryThreshold {
  let text: string;
  try {
    text = readRegularFileSync(file).toString('utf8');
  } catch (error) {
    throw new Error(`cannot read a threshold from ${file}: ${(error as Error).message}`);
  }
  let summary: Summary | null;
  try {
    summary = JSON.parse(text) as typeof summary;
  } catch {
    // JSON.parse's own message quotes the text, over several lines.
    throw new Error(`${file} is not JSON: give the summary.json an eval, train or demo wrote`);
  }
  const threshold = summary?.evaluation?.threshold;
  if (typeof threshold !== 'number') throw new Error(`${file} has no evaluation.threshold`);
  expectCosineThreshold(threshold, `${file}'s evaluation.threshold`);
  if (summary!.evaluated === 'raw-pixels') {
    throw new Error(
      `${file} is an evaluation of raw pixels, not a model: its threshold is not verify's`,
    );
  }
  const protocol = summary!.evaluation!.protocol;
  if (!protocol || typeof protocol !== 'object') {
    throw new Error(
      `${file} has no evaluation.protocol: nothing says its threshold was found as verify ` +
        'compares (--flip concat, no mean subtracted)',
    );
  }
  const unlike = flagsUnlikeVerify({
    flip: (protocol.flip ?? 'concat') as FlipMode,
    subtractMean: protocol.subtractMean === true,
  });
  if (unlike.length) {
    throw new Error(
      `${file} has a threshold found with ${unlike.join(' and ')}, but verify compares ` +
        '--flip concat features without a mean subtracted: evaluate again without them',
    );
  }
  const arch = summary!.arch ?? summary!.config?.arch;
  return { threshold, ...(typeof arch === 'string' ? { arch } : {}) };
}
