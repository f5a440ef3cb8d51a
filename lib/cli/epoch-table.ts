// The seed's results table (Epoch | Loss | Test Acc.), printed row by row as training goes.
// An epoch's row waits until we know whether an evaluation follows it, so the accuracy lands
// on the row of the epoch it was measured after.
import type { EpochRecord, EvalRecord } from '../train/trainer-events';

export class EpochTable {
  private pending: { epoch: number; loss: number; accuracy?: number } | undefined;
  readonly rows: Array<{ epoch: number; loss: number; accuracy?: number }> = [];

  constructor(private readonly print: (line: string) => void) {}

  header(): void {
    this.print('| Epoch | Loss   | Test Acc. |');
    this.print('|-------|--------|-----------|');
  }

  epoch(record: EpochRecord): void {
    this.flush();
    this.pending = { epoch: record.epoch, loss: record.loss };
  }

  eval(record: EvalRecord): void {
    if (this.pending && this.pending.epoch === record.epoch) {
      this.pending.accuracy = record.result.accuracy;
    } else {
      this.flush();
      this.pending = { epoch: record.epoch, loss: NaN, accuracy: record.result.accuracy };
    }
    this.flush();
  }

  /** Prints the row held back, if any (call on the next batch and at the end). */
  flush(): void {
    if (!this.pending) return;
    const row = this.pending;
    this.pending = undefined;
    this.rows.push(row);
    const epoch = String(row.epoch).padStart(2, '0').padEnd(5);
    const loss = (Number.isNaN(row.loss) ? '' : row.loss.toFixed(3)).padEnd(6);
    const acc = (row.accuracy === undefined ? '' : row.accuracy.toFixed(4)).padEnd(9);
    this.print(`| ${epoch} | ${loss} | ${acc} |`);
  }
}
