// metrics.jsonl: one JSON record per line, appended as training goes, so a crash loses at most
// the line being written and `tail -f` shows progress.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';
import { readRegularFile } from '../util/regular-file';
import { expectPath } from '../util/expect';

export type MetricsRecord = { type: string; iteration: number } & Record<string, unknown>;

export class MetricsLog {
  private handle: fs.FileHandle | undefined;

  constructor(readonly file: string) {}

  /**
   * Opens the log. A new run moves an earlier run's log aside (metrics.1.jsonl, .2, ...: the
   * highest is the latest) rather than write over it. A resume (from the checkpoint at
   * `resume.iteration`) first drops what the stopped run wrote after that checkpoint, so the log
   * reads as one clean run.
   */
  async open(resume?: ResumedAt): Promise<void> {
    if (resume === undefined) {
      await this.moveAside();
      this.handle = await fs.open(this.file, 'wx');
      return;
    }
    let lines: string[] = [];
    try {
      lines = (await readRegularFile(this.file))
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await writeFileAtomic(this.file, keptFor(lines, resume).join(''));
    this.handle = await fs.open(this.file, 'a');
  }

  // The first free metrics.N.jsonl takes a non-empty log; an empty one is written over.
  private async moveAside(): Promise<void> {
    const stats = await fs.stat(this.file).catch(() => undefined);
    if (!stats || stats.size === 0) {
      await fs.rm(this.file, { force: true });
      return;
    }
    const { dir, name, ext } = path.parse(this.file);
    for (let n = 1; ; n++) {
      const aside = path.join(dir, `${name}.${n}${ext}`);
      if (await fs.stat(aside).catch(() => undefined)) continue;
      await fs.rename(this.file, aside);
      return;
    }
  }

  async write(record: MetricsRecord): Promise<void> {
    if (!this.handle) throw new Error('MetricsLog.write before open');
    try {
      await this.handle.appendFile(JSON.stringify(record) + '\n');
    } catch (error) {
      throw new Error(`Could not write ${this.file}: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

/** Where a resume starts: the checkpoint's iteration, and whether it closes an epoch first. */
export interface ResumedAt {
  iteration: number;
  /**
   * The checkpoint was taken at an epoch's last step before the epoch was closed (a checkpoint
   * by iterations): the resume writes that epoch's record, and what followed it, again.
   */
  closesEpoch: boolean;
}

/**
 * The lines a resume keeps: those up to its iteration, except, when it closes an epoch, those
 * of that iteration after its checkpoint record (which it writes again). Without that record (a
 * run killed before writing it), every line of that iteration. Torn lines go.
 */
function keptFor(lines: readonly string[], resume: ResumedAt): string[] {
  const { iteration } = resume;
  const records = lines.map((line) => {
    try {
      return JSON.parse(line) as MetricsRecord;
    } catch {
      return undefined; // a torn last line
    }
  });
  let checkpointAt = -1;
  records.forEach((r, i) => {
    if (r?.type === 'checkpoint' && r.iteration === iteration) checkpointAt = i;
  });
  const redone = (i: number) =>
    resume.closesEpoch &&
    checkpointAt >= 0 &&
    i > checkpointAt &&
    records[i]!.iteration === iteration;
  return lines.flatMap((line, i) => {
    const r = records[i];
    return r && r.iteration <= iteration && !redone(i) ? [line + '\n'] : [];
  });
}

/**
 * Reads a metrics.jsonl back (for reports and tests). A last line cut short (the run was killed
 * while writing it) is left out; any other line that is not a JSON record is an error naming
 * the file and line.
 */
export async function readMetrics(file: string): Promise<MetricsRecord[]> {
  expectPath(file, 'file', 'a metrics.jsonl path');
  const text = (await readRegularFile(file)).toString('utf8');
  const lines = text.split('\n');
  const records: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      if (i === lines.length - 1) return; // torn: no newline after it
      throw new Error(`${file}:${i + 1}: expected a JSON record but found '${line.slice(0, 80)}'`);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new Error(`${file}:${i + 1}: expected a JSON object but found '${line.slice(0, 80)}'`);
    }
    records.push(record as MetricsRecord);
  });
  return records;
}
