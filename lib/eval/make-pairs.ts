// LFW-style verification pairs for a labelled image set (e.g. held-out synthetic identities):
// k folds over disjoint sets of identities, each fold half same-identity pairs then half
// different-identity pairs, as in pairs.txt. Disjoint identities keep a fold's threshold (and,
// under subtractMean, its mean feature) from being fitted on the people it is tested on.
import type { VerificationPair } from '../data/types';

export interface MakePairsOptions {
  folds?: number; // default 10
  /** Pairs per fold, even: half same, half different (default 600, as LFW). */
  pairsPerFold?: number;
  seed?: number; // default 1
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeVerificationPairs(
  labels: Int32Array | readonly number[],
  options: MakePairsOptions = {},
): VerificationPair[] {
  const folds = options.folds ?? 10;
  const perFold = options.pairsPerFold ?? 600;
  if (!Number.isInteger(folds) || folds < 2) {
    throw new RangeError(`Expected integer folds >= 2 but received ${folds}`);
  }
  if (!Number.isInteger(perFold) || perFold < 2 || perFold % 2 !== 0) {
    throw new RangeError(
      `Expected a positive even integer for pairsPerFold but received ${perFold}`,
    );
  }
  const rand = rng(options.seed ?? 1);
  const byId = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i])) {
      throw new Error(`Expected integer for labels[${i}] but received ${labels[i]}`);
    }
    const list = byId.get(labels[i]) ?? [];
    list.push(i);
    byId.set(labels[i], list);
  }
  const ids = [...byId.keys()].sort((a, b) => a - b);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  if (ids.length < 2 * folds) {
    throw new Error(
      `Expected at least ${2 * folds} identities for ${folds} folds but found ${ids.length}`,
    );
  }

  const half = perFold / 2;
  const pairs: VerificationPair[] = [];
  for (let k = 0; k < folds; k++) {
    const group = ids.filter((_, i) => i % folds === k).map((id) => byId.get(id) as number[]);
    const possibleSame = group.reduce((s, imgs) => s + (imgs.length * (imgs.length - 1)) / 2, 0);
    if (possibleSame < half) {
      throw new Error(
        `Fold ${k} has identities with only ${possibleSame} distinct same pairs, fewer than the ${half} needed: use fewer pairsPerFold or more images per identity`,
      );
    }
    const seen = new Set<string>();
    const take = (same: boolean) => {
      for (let made = 0, tries = 0; made < half; tries++) {
        if (tries > 1000 * half) {
          throw new Error(
            `Could not draw ${half} distinct ${same ? 'same' : 'different'} pairs in fold ${k}`,
          );
        }
        const g1 = Math.floor(rand() * group.length);
        let g2 = g1;
        if (!same) {
          g2 = Math.floor(rand() * (group.length - 1));
          if (g2 >= g1) g2++;
        }
        const a = group[g1][Math.floor(rand() * group[g1].length)];
        const b = group[g2][Math.floor(rand() * group[g2].length)];
        const key = a < b ? `${a},${b}` : `${b},${a}`;
        if (a === b || seen.has(key)) continue;
        seen.add(key);
        pairs.push({ a, b, same, fold: k, line: pairs.length + 1 });
        made++;
      }
    };
    take(true);
    take(false);
  }
  return pairs;
}
