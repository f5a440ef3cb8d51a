// How the CLI shows prepareImageStore's events: a bar on a terminal while shards are checked and
// images decoded, one stderr line for a store started over, a resumed run or a shard rebuilt
// (stdout stays for results and JSON).
import { ProgressBar } from '../data/progress-bar';
import type { PrepareEvent } from '../data/store/prepare-image-store';

export function storeProgress(
  stream: NodeJS.WritableStream = process.stderr,
): (event: PrepareEvent) => void {
  let bar: ProgressBar | undefined;
  let barKind = '';
  const endBar = () => {
    bar?.finish();
    bar = undefined;
    barKind = '';
  };
  const draw = (kind: string, label: string, done: number, total: number) => {
    if (barKind !== kind) {
      endBar();
      bar = new ProgressBar(total, label, stream);
      barKind = kind;
    }
    bar!.update(done);
    if (done === total) endBar();
  };
  const line = (text: string) => {
    endBar();
    stream.write(`image store: ${text}\n`);
  };
  return (event) => {
    switch (event.type) {
      case 'stale':
        return line(`starting over: ${event.reason}`);
      case 'start':
        if (event.done > 0) line(`resuming after ${event.done} of ${event.images} source images`);
        return;
      case 'verify':
        return draw('verify', 'checking shards', event.checked, event.total);
      case 'damaged':
        return line(`${event.problem.file}: ${event.problem.detail}; rebuilding it`);
      case 'decode':
        return draw('decode', 'decoding', event.done, event.total);
      case 'bad-image':
      case 'shard':
        return;
    }
  };
}
