// The records Trainer reports, and a small emitter whose handlers are awaited one after another
// (as tfjs-layers' callbacks): a slow handler holds training back instead of racing it.
import type { Checkpoint } from './checkpoint';

export interface BatchRecord {
  iteration: number; // steps done, including this one
  totalIterations: number; // steps the run will take
  epoch: number; // number of the epoch it belongs to, from 1
  batch: number; // 0-based index in the epoch
  n: number;
  loss: number;
  accuracy: number;
  lr: number;
  lambda?: number;
  seconds: number; // this step's wall time
  imagesPerSecond: number; // smoothed
}

export interface EpochRecord {
  epoch: number; // number of the epoch, from 1 (= epochs completed, as EvalRecord.epoch)
  iteration: number;
  loss: number; // mean over the epoch's batches
  accuracy: number;
  images: number;
  seconds: number; // wall time of this process in the epoch (not counting evaluation)
  imagesPerSecond: number;
  lr: number;
  lambda?: number;
}

/** What an evaluation must report at least; the whole result is passed on in 'eval'. */
export interface EvaluationLike {
  accuracy: number;
  std?: number;
}

export interface EvalRecord<E extends EvaluationLike = EvaluationLike> {
  epoch: number; // epochs completed when it ran (from epoch N's last step on: N)
  iteration: number;
  seconds: number;
  result: E;
}

/** A fit() that continues from a checkpoint, and the settings that differ from its. */
export interface ResumeRecord {
  checkpoint: Checkpoint;
  /** e.g. 'totalIterations 3 -> 6'; empty when every setting matches. */
  changes: string[];
}

export interface TrainerEvents<E extends EvaluationLike> {
  resume: ResumeRecord;
  batch: BatchRecord;
  epoch: EpochRecord;
  eval: EvalRecord<E>;
  checkpoint: Checkpoint;
}

/** An event handler; a promise it returns is awaited before training goes on, any other value ignored. */
export type Handler<T> = (record: T) => unknown;

export class AwaitedEmitter<Events extends object> {
  private readonly handlers = new Map<keyof Events, Handler<never>[]>();

  on<K extends keyof Events>(event: K, handler: Handler<Events[K]>): this {
    const list = this.handlers.get(event) ?? [];
    list.push(handler as Handler<never>);
    this.handlers.set(event, list);
    return this;
  }

  off<K extends keyof Events>(event: K, handler: Handler<Events[K]>): this {
    const list = this.handlers.get(event) ?? [];
    this.handlers.set(
      event,
      list.filter((h) => h !== (handler as Handler<never>)),
    );
    return this;
  }

  protected async emit<K extends keyof Events>(event: K, record: Events[K]): Promise<void> {
    for (const handler of [...(this.handlers.get(event) ?? [])]) {
      await (handler as Handler<Events[K]>)(record);
    }
  }
}
