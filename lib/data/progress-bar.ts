import type { WriteStream } from 'node:tty';

/** A one-line progress bar on a terminal; silent when the stream is not a TTY (logs, CI). */
export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;
  private readonly active: boolean;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: NodeJS.WritableStream &
      Partial<Pick<WriteStream, 'isTTY' | 'columns'>> = process.stderr,
  ) {
    this.active = Boolean(stream.isTTY) && total > 0;
  }

  update(done: number): void {
    if (!this.active) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < this.total) return; // at most ~10 redraws a second
    this.lastDraw = now;
    const rate = done / Math.max((now - this.started) / 1000, 1e-3);
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 50));
    const filled = Math.round((width * done) / this.total);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    this.stream.write(`\r${this.label} [${bar}] ${done}/${this.total} ${rate.toFixed(0)} img/s `);
  }

  finish(): void {
    if (this.active) this.stream.write('\n');
  }
}
