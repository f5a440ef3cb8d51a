// Where a command's output goes: results on stdout (lines for people, or with --json one JSON
// line), progress on stderr through the one ProgressLine. Commands print only through this.
import { countText, ProgressLine, type ProgressStream } from './progress';

export interface OutputStreams {
  stdout: { write(text: string): boolean };
  stderr: ProgressStream;
}

/**
 * A reader that goes away (`sphereface train ... | head -2`) must not end the command: writes to
 * a closed stdout or stderr are dropped (EPIPE, and the destroyed stream after it), so a training
 * run goes on to its checkpoints and report.
 */
export function dropWritesToClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') > 0) continue;
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    });
  }
}

/** Prints nothing: the output of a distributed run's ranks other than 0. */
export function silentOutput(): Output {
  const nowhere = { write: () => true };
  return new Output(true, { stdout: nowhere, stderr: nowhere });
}

export class Output {
  readonly progress: ProgressLine | undefined;

  constructor(
    readonly json: boolean,
    private readonly streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr },
  ) {
    // Under --json, stderr carries the error object; progress only when a person watches it.
    this.progress =
      json && streams.stderr.isTTY !== true ? undefined : new ProgressLine(streams.stderr);
  }

  /** A line for people (nothing under --json). */
  line(text = ''): void {
    if (this.json) return;
    this.progress?.clear();
    this.streams.stdout.write(`${text}\n`);
  }

  /** The command's result: one JSON line under --json (nothing otherwise). */
  result(value: unknown): void {
    if (!this.json) return;
    this.progress?.clear();
    this.streams.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /**
   * A message on stderr (warnings, notices), on a line of its own; under --json, one JSON line
   * `{"note": text}`, so that a reader parsing stderr line by line meets only JSON.
   */
  note(text: string): void {
    this.progress?.clear();
    this.streams.stderr.write(this.json ? `${JSON.stringify({ note: text })}\n` : `${text}\n`);
  }

  /** The error that ends the command: its message (and stack), or under --json one JSON object. */
  error(
    message: string,
    details: { kind: 'usage' | 'failure' | 'interrupted'; stack?: string },
  ): void {
    this.progress?.clear();
    if (this.json) {
      this.streams.stderr.write(`${JSON.stringify({ error: message, ...details })}\n`);
      return;
    }
    this.streams.stderr.write(`${message}\n`);
    if (details.stack) this.streams.stderr.write(`${details.stack}\n`);
  }

  /** An `onProgress(done, total)` for a counted phase, drawing `label [###--] done/total ...`. */
  counter(label: string, unit = 'img'): (done: number, total: number) => void {
    const started = performance.now();
    return (done, total) => {
      const last = done >= total;
      this.progress?.update(
        countText(label, done, total, (performance.now() - started) / 1000, unit),
        last,
      );
      if (last) this.progress?.finish();
    };
  }
}
