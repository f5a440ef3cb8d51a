// Axis tick positions and labels: "nice" steps (1, 2, 2.5, 5 x 10^k) on linear axes, decades
// on log axes.

export interface Tick {
  value: number;
  label: string;
}

/** `integer` keeps ticks on whole numbers (epochs): steps 1, 2, 5 x 10^k, at least 1. */
export function linearTicks(min: number, max: number, target = 6, integer = false): Tick[] {
  if (!(max > min)) throw new Error(`Expected max > min for an axis but received [${min}, ${max}]`);
  const raw = integer ? Math.max(1, (max - min) / target) : (max - min) / target;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const multiples = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  const step = multiples.map((m) => m * power).find((s) => s >= raw * (1 - 1e-12)) as number;
  const decimals = Math.max(
    0,
    -Math.floor(Math.log10(step) + 1e-9) + (step / power === 2.5 ? 1 : 0),
  );
  const ticks: Tick[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    const value = k * step + 0; // + 0 turns -0 into 0
    ticks.push({ value, label: (Math.abs(value) < step * 1e-9 ? 0 : value).toFixed(decimals) });
  }
  return ticks;
}

/**
 * A range padded to nice tick boundaries around the data, such that `linearTicks` on it starts
 * and ends exactly at its ends. Widening can change the step, so repeat until it settles (steps
 * only grow, over a small discrete set, so this ends in a few rounds).
 */
export function niceRange(min: number, max: number, integer = false): [number, number] {
  if (max === min) {
    const pad = integer ? 1 : Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    return niceRange(min - pad, max + pad, integer);
  }
  let [lo, hi] = [min, max];
  for (let round = 0; round < 10; round++) {
    const ticks = linearTicks(lo, hi, 6, integer);
    const step = ticks.length > 1 ? ticks[1].value - ticks[0].value : hi - lo;
    const next: [number, number] = [
      Math.floor(lo / step + 1e-9) * step + 0,
      Math.ceil(hi / step - 1e-9) * step + 0,
    ];
    if (Math.abs(next[0] - lo) < step * 1e-9 && Math.abs(next[1] - hi) < step * 1e-9) break;
    [lo, hi] = next;
  }
  return [lo, hi];
}

export function logTicks(min: number, max: number): Tick[] {
  if (!(min > 0 && max > min)) {
    throw new Error(`Expected 0 < min < max for a log axis but received [${min}, ${max}]`);
  }
  const ticks: Tick[] = [];
  for (let k = Math.ceil(Math.log10(min) - 1e-9); k <= Math.floor(Math.log10(max) + 1e-9); k++) {
    ticks.push({
      value: Math.pow(10, k),
      label: k >= -2 ? String(Number(Math.pow(10, k).toFixed(2))) : `1e${k}`,
    });
  }
  return ticks;
}
