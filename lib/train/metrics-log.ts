// metrics.jsonl: one JSON record per line, appended as training goes, so a crash loses at most
// the line being written and `tail -f` shows progress.
import * as fs from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write';
import { readRegularFile } from '../util/regular-file';
import { expectPath } from '../util/expect';

export type MetricsRecord = { type: string; iteration: number } & Record<string, unknown>;

export class MetricsLog {
  private handle: fs.FileHandle | undefined;

  constructor(readonly file: string) {}

  /**
   * Opens the log. With `keepUpTo` (a resume), records past that iteration (written after the
   * checkpoint by the run that stopped) are dropped first, so the log reads as one clean run.
   */
  async open(keepUpTo?: number): Promise<void> {
    if (keepUpTo === undefined) {
      this.handle = await fs.open(this.file, 'w');
      return;
    }
    let kept: string[] = [];
    try {
      const lines = (await readRegularFile(this.file))
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim());
      kept = lines.filter((line) => {
        try {
          const record = JSON.parse(line) as MetricsRecord;
          return record.iteration <= keepUpTo;
        } catch {
          return false; // a torn last line
        }
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await writeFileAtomic(this.file, kept.map((l) => l + '\n').join(''));
    this.handle = await fs.open(this.file, 'a');
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
