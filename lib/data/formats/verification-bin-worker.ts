// The worker thread readVerificationBin reads and unpickles on. Each image owns its buffer, which
// moves to the caller rather than being copied.
import { serveTasks } from '../../util/worker-pool';
import { parseVerificationBinFile, type VerificationBin } from './verification-bin';

serveTasks<string, VerificationBin>(async (file) => {
  const bin = await parseVerificationBinFile(file);
  return { result: bin, transfer: bin.images.map((image) => image.buffer) };
});
