// How the CLI shows prepareImageStore's events: the progress line while shards are checked and
// images decoded, and a line on stderr for what the source's scan left out, a store started
// over, a resumed run or a shard rebuilt (stdout stays for results and JSON).
import type { PrepareEvent } from '../data/store/prepare-image-store';
import type { Output } from './output';
import type { StopOnSignal } from './stop-on-signal';

export function storeProgress(out: Output, label = 'decoding'): (event: PrepareEvent) => void {
  const verifying = out.counter('checking shards', 'shards');
  const decoding = out.counter(label);
  return (event) => {
    switch (event.type) {
      case 'left-out': {
        const [first] = event.entries;
        const count = `${event.entries.length} ${event.entries.length === 1 ? 'entry' : 'entries'}`;
        return out.note(
          `left out ${count} of ${event.location} (the first: ${first.path}: ${first.reason})`,
        );
      }
      case 'stale':
        return out.note(`image store: starting over: ${event.reason}`);
      case 'start':
        if (event.done > 0) {
          out.note(`image store: resuming after ${event.done} of ${event.images} source images`);
        }
        return;
      case 'verify':
        return verifying(event.checked, event.total);
      case 'damaged':
        return out.note(
          `image store: ${event.problem.file}: ${event.problem.detail}; rebuilding it`,
        );
      case 'damaged-labels':
        return out.note(`${event.reason}; writing it again from the source`);
      case 'decode':
        return decoding(event.done, event.total);
      case 'landmarks-unused':
        return out.note(
          `image store: ${event.location} gives the faces' landmarks, but they align faces only ` +
            `with --landmarks: give --landmarks ${event.location} to align on them`,
        );
      case 'bad-image':
      case 'shard':
        return;
    }
  };
}

/** How a signal stops a store's preparation: its finished shards stay for the next run. */
export function stoppingPreparation(controller: AbortController): StopOnSignal {
  return {
    stopping: 'stopping once the shards being written are recorded',
    stop: () => controller.abort(),
    kept: 'the image store keeps the shards it finished, if any: run the same command again to continue',
  };
}
