// metrics.jsonl: one JSON record per line, appended as training goes, so a crash loses at most
// the line being written and `tail -f` shows progress.
import * as fs from 'node:fs/promises';

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
      const lines = (await fs.readFile(this.file, 'utf8')).split('\n').filter((l) => l.trim());
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
    const temp = `${this.file}.tmp-${process.pid}`;
    await fs.writeFile(temp, kept.map((l) => l + '\n').join(''));
    await fs.rename(temp, this.file);
    this.handle = await fs.open(this.file, 'a');
  }

  async write(record: MetricsRecord): Promise<void> {
    if (!this.handle) throw new Error('MetricsLog.write before open');
    await this.handle.appendFile(JSON.stringify(record) + '\n');
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

/** Reads a metrics.jsonl back (for reports and tests). */
export async function readMetrics(file: string): Promise<MetricsRecord[]> {
  const text = await fs.readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as MetricsRecord);
}
