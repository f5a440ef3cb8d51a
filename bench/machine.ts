// The header every benchmark prints and records: machine, threads, libtorch, date.
import * as os from 'node:os';
import { info } from '../lib/info';

export interface MachineLine {
  cpu: string;
  cores: number;
  threads: number;
  torch: string;
  blas: string;
  date: string;
}

export function machineLine(): MachineLine {
  const about = info();
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.availableParallelism(),
    threads: about.threads,
    torch: `${about.torch.version} (${about.torch.source})`,
    blas: about.blas,
    date: new Date().toISOString().slice(0, 10),
  };
}

export function describeMachine(line: MachineLine = machineLine()): string {
  return `${line.cpu}, ${line.cores} cores, ${line.threads} threads, libtorch ${line.torch}, ${line.date}`;
}

/**
 * What the addon's loader sets when unset (lib/native/index.ts: idle OpenMP and OpenBLAS threads
 * sleep), given to both sides of a side-by-side bench so that PyTorch runs with them too.
 */
export const IDLE_THREADS_SLEEP = { OMP_WAIT_POLICY: 'PASSIVE', OPENBLAS_THREAD_TIMEOUT: '4' };

/** The side-by-side benches' second header line: how the sides ran and which figure is given. */
export function describeRounds(threads: string, rounds: number, figure: 'call' | 'step'): string {
  const settings = Object.entries(IDLE_THREADS_SLEEP)
    .map(([name, value]) => `${name}=${value}`)
    .join(', ');
  return `threads ${threads}, ${settings}, ${rounds} rounds alternating, figures: best round's median ${figure}`;
}

/** Median of a list of numbers (the figure every benchmark reports). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
