// One-line progress for a TTY: bar, loss, accuracy, lambda, lr, images/s and ETA, redrawn at
// most ten times a second. Silent when the stream is not a TTY (logs stay clean).

export interface ProgressFields {
  iteration: number; // steps done
  total: number; // steps planned
  epoch: number;
  loss: number;
  accuracy: number;
  lr: number;
  lambda?: number;
  imagesPerSecond: number;
  secondsPerIteration: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (v: number) => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** The text of one progress line. */
export function progressLine(f: ProgressFields, width = 20): string {
  const done = Math.min(1, f.iteration / Math.max(1, f.total));
  const filled = Math.round(done * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const eta = formatDuration((f.total - f.iteration) * f.secondsPerIteration);
  const lambda = f.lambda === undefined ? '' : ` lambda ${f.lambda.toPrecision(3)}`;
  return (
    `[${bar}] ${f.iteration}/${f.total} ep ${f.epoch + 1} loss ${f.loss.toFixed(4)} ` +
    `acc ${f.accuracy.toFixed(3)}${lambda} lr ${f.lr.toPrecision(3)} ` +
    `${f.imagesPerSecond.toFixed(0)} img/s ETA ${eta}`
  );
}

interface Stream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export class ProgressBar {
  private last = 0;
  private shown = false;

  constructor(private readonly stream: Stream = process.stdout) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(fields: ProgressFields, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const columns = this.stream.columns ?? 120;
    this.stream.write(`\r\x1b[2K${progressLine(fields).slice(0, columns - 1)}`);
    this.shown = true;
  }

  /** Clears the line so normal output (an epoch row) can be printed. */
  clear(): void {
    if (!this.enabled || !this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
