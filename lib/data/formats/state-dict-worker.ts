// The worker thread readStateDictFile reads on, so a large file never holds the event loop. Each
// tensor's data owns its buffer, which moves to the caller rather than being copied.
import { serveTasks } from '../../util/worker-pool';
import { parseStateDictFile, type StateDictTensor } from './torch-file';

serveTasks<string, StateDictTensor[]>(async (file) => {
  const tensors = await parseStateDictFile(file);
  return { result: tensors, transfer: tensors.map((t) => t.data.buffer) };
});
