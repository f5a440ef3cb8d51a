// The seed's results table (Epoch | Loss | Test Acc.), printed row by row as training goes.
// A row is one point of the run (an iteration): an epoch's end, an evaluation, or both. It waits
// until the next batch, so an evaluation at an epoch's last step shares that epoch's row. With
// evaluations by iterations the table gains an Iter. column, and a row for an evaluation within
// an epoch names the epoch it ran in.
import type { EpochRecord, EvalRecord } from '../train/trainer-events';

export interface TableRow {
  /** The epoch the row's iteration ends or falls in, from 1. */
  epoch: number;
  iteration: number;
  /** The epoch's mean loss; absent on a row of an evaluation within an epoch. */
  loss?: number;
  accuracy?: number;
}

export interface EpochTableOptions {
  /** Add the Iter. column (evaluations every N iterations). */
  iterations?: boolean;
}

export class EpochTable {
  private pending: TableRow | undefined;
  private headed = false;
  readonly rows: TableRow[] = [];

  constructor(
    private readonly print: (line: string) => void,
    private readonly options: EpochTableOptions = {},
  ) {}

  epoch(record: EpochRecord): void {
    this.at(record.iteration, record.epoch).loss = record.loss;
  }

  eval(record: EvalRecord): void {
    // record.epoch counts the epochs completed: N from epoch N's last step on, N - 1 within
    // epoch N. Its row is the epoch it falls in; at() lowers N + 1 to N on epoch N's last step.
    this.at(record.iteration, record.epoch + 1).accuracy = record.result.accuracy;
  }

  /** Prints the row held back, if any (call on the next batch and at the end). */
  flush(): void {
    if (!this.pending) return;
    const row = this.pending;
    this.pending = undefined;
    this.rows.push(row);
    const iterations = this.options.iterations === true;
    if (!this.headed) {
      this.headed = true;
      this.print(`| Epoch |${iterations ? ' Iter.   |' : ''} Loss   | Test Acc. |`);
      this.print(`|-------|${iterations ? '---------|' : ''}--------|-----------|`);
    }
    const epoch = String(row.epoch).padStart(2, '0').padEnd(5);
    const iteration = iterations ? ` ${String(row.iteration).padEnd(7)} |` : '';
    const loss = (row.loss === undefined ? '' : fitWidth(row.loss, 6)).padEnd(6);
    const acc = (row.accuracy === undefined ? '' : row.accuracy.toFixed(4)).padEnd(9);
    this.print(`| ${epoch} |${iteration} ${loss} | ${acc} |`);
  }

  /** The row of `iteration`, held back; a row of another iteration is printed first. */
  private at(iteration: number, epoch: number): TableRow {
    if (this.pending?.iteration !== iteration) {
      this.flush();
      this.pending = { epoch, iteration };
    }
    // An evaluation at epoch N's last step takes N + 1 above; the row is epoch N's.
    this.pending.epoch = Math.min(this.pending.epoch, epoch);
    return this.pending;
  }
}

/** x in at most `width` characters: three decimals where they fit, fewer, then an exponent. */
export function fitWidth(x: number, width: number): string {
  for (let digits = 3; digits >= 0; digits--) {
    const text = x.toFixed(digits);
    if (text.length <= width) return text;
  }
  for (let digits = width; digits >= 0; digits--) {
    const text = x.toExponential(digits).replace('e+', 'e');
    if (text.length <= width) return text;
  }
  return x.toExponential(0).replace('e+', 'e');
}
