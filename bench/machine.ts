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

/** The side-by-side benches' second header line: how the sides ran and which figure is given. */
export function describeRounds(threads: string, rounds: number, figure: 'call' | 'step'): string {
  return `threads ${threads}, OMP_WAIT_POLICY=PASSIVE, ${rounds} rounds alternating, figures: best round's median ${figure}`;
}

/** Median of a list of numbers (the figure every benchmark reports). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
