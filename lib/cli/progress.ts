// The CLI's one progress display, on stderr so that stdout carries only results. On a terminal
// it is one line redrawn at most ten times a second and cleared before any result line is
// printed; elsewhere (a log file, CI) it writes a plain line every 30 seconds, so a redirected
// run still shows that it is alive without filling the log.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export interface ProgressOptions {
  /** Milliseconds between plain lines off a terminal (default 30 s). */
  plainEveryMs?: number;
  /** Milliseconds between redraws on a terminal (default 100). */
  redrawEveryMs?: number;
  now?: () => number;
}

export class ProgressLine {
  private readonly tty: boolean;
  private readonly plainEveryMs: number;
  private readonly redrawEveryMs: number;
  private readonly now: () => number;
  private last = -Infinity;
  private shown = false;

  constructor(
    private readonly stream: ProgressStream,
    options: ProgressOptions = {},
  ) {
    this.tty = stream.isTTY === true;
    this.plainEveryMs = options.plainEveryMs ?? 30_000;
    this.redrawEveryMs = options.redrawEveryMs ?? 100;
    this.now = options.now ?? Date.now;
  }

  /** Shows `text` now or soon: `force` draws it whatever the rate limit (a phase's last line). */
  update(text: string, force = false): void {
    const now = this.now();
    if (!force && now - this.last < (this.tty ? this.redrawEveryMs : this.plainEveryMs)) return;
    this.last = now;
    if (this.tty) {
      const width = Math.max(20, (this.stream.columns ?? 100) - 1);
      this.stream.write(`\r\x1b[2K${text.slice(0, width)}`);
      this.shown = true;
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  /** Erases the line on a terminal, so that other output starts on a clean line. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }

  /** Ends a phase, leaving its last line standing; the next update draws at once. */
  finish(): void {
    if (this.shown) this.stream.write('\n');
    this.shown = false;
    this.last = -Infinity;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (v: number) => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return '#'.repeat(filled) + '-'.repeat(width - filled);
}

/** `label [####----] done/total rate unit/s ETA mm:ss`, for counted phases (decoding, embedding). */
export function countText(
  label: string,
  done: number,
  total: number,
  seconds: number,
  unit = 'img',
): string {
  const rate = done / Math.max(seconds, 1e-3);
  const eta = formatDuration((total - done) / Math.max(rate, 1e-9));
  return `${label} [${bar(done / Math.max(1, total))}] ${done}/${total} ${rate.toFixed(0)} ${unit}/s ETA ${eta}`;
}

export interface TrainingFields {
  iteration: number;
  totalIterations: number;
  epoch: number; // from 1
  loss: number;
  accuracy: number;
  lr: number;
  lambda?: number;
  imagesPerSecond: number;
  n: number; // images per step
}

/** The training line: steps, epoch, loss, accuracy, lambda, lr, images/s and ETA. */
export function trainingText(f: TrainingFields): string {
  const secondsPerStep = f.n / Math.max(f.imagesPerSecond, 1e-9);
  const eta = formatDuration((f.totalIterations - f.iteration) * secondsPerStep);
  const lambda = f.lambda === undefined ? '' : ` lambda ${f.lambda.toPrecision(3)}`;
  return (
    `[${bar(f.iteration / Math.max(1, f.totalIterations))}] ${f.iteration}/${f.totalIterations} ` +
    `ep ${f.epoch} loss ${f.loss.toFixed(4)} acc ${f.accuracy.toFixed(3)}${lambda} ` +
    `lr ${f.lr.toPrecision(3)} ${f.imagesPerSecond.toFixed(0)} img/s ETA ${eta}`
  );
}
