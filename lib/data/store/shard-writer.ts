import * as path from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write';
import { writeManifest, type ShardRecord, type StoreManifest } from './manifest';

/**
 * Makes shards durable one after another, in the order given: each is written atomically (a
 * synced temporary file renamed into place), and only then recorded in the manifest (itself
 * replaced atomically). A run killed at any point leaves every recorded shard whole.
 */
export class ShardWriter {
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private queued = 0;

  constructor(
    private readonly dir: string,
    private readonly manifest: StoreManifest,
    private readonly onWritten: (record: ShardRecord, k: number) => void,
  ) {}

  /** Shards handed over and not yet recorded. */
  get pending(): number {
    return this.queued;
  }

  /** Queues shard k's bytes; `release` is called once they are no longer needed. */
  write(k: number, bytes: Uint8Array, record: ShardRecord, release: () => void): void {
    this.queued++;
    this.chain = this.chain.then(async () => {
      try {
        if (!this.failure) await this.commit(k, bytes, record);
      } catch (err) {
        this.failure = err as Error;
      } finally {
        this.queued--;
        release();
      }
    });
  }

  /** Waits for every queued shard; rethrows the first write failure. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure;
  }

  private async commit(k: number, bytes: Uint8Array, record: ShardRecord): Promise<void> {
    await writeFileAtomic(path.join(this.dir, record.file), bytes, { ownFile: true });
    const shards = this.manifest.shards;
    if (k > shards.length) throw new Error(`shard ${k} written before shard ${shards.length}`);
    shards[k] = record;
    this.manifest.images = shards.reduce((sum, s) => sum + s.images, 0);
    await writeManifest(this.dir, this.manifest);
    this.onWritten(record, k);
  }
}
