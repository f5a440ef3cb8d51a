// The worker thread a StateDictFile reads on, so a large file never holds the event loop. It
// keeps the file it opened between tasks: the entries first, the data of those asked for after.
// Each tensor's data owns its buffer, which moves to the caller rather than being copied.
import { serveTasks } from '../../util/worker-pool';
import { StateDictArchive, type StateDictEntry, type StateDictTask } from './torch-file';

let opened: StateDictArchive | undefined;

serveTasks<StateDictTask, StateDictEntry[] | Float32Array[]>(async (task) => {
  if ('open' in task) {
    opened = undefined; // the previous file's bytes go before the next's are read
    opened = await StateDictArchive.open(task.open);
    return { result: opened.entries };
  }
  if (!opened) throw new Error('readStateDictFile: no file is open on this worker');
  const archive = opened;
  const data = task.read.map((index) => archive.read(index));
  return { result: data, transfer: data.map((d) => d.buffer) };
});
