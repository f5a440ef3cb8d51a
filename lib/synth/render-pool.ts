// Spreads image jobs over worker threads (rendering and JPEG encoding are pure JavaScript and
// CPU-bound), keeping each worker busy with one job at a time; results come back in job order.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { runImageJob, type ImageJob } from './image-job';

export async function runImageJobs(
  jobs: readonly ImageJob[],
  workers: number,
  onDone?: (done: number) => void,
): Promise<number[][]> {
  const results: number[][] = new Array(jobs.length);
  let done = 0;
  if (workers <= 1) {
    for (let k = 0; k < jobs.length; k++) {
      results[k] = await runImageJob(jobs[k]);
      onDone?.(++done);
    }
    return results;
  }
  const script = path.join(__dirname, 'render-worker.js');
  const pool = Array.from({ length: Math.min(workers, jobs.length) }, () => new Worker(script));
  let next = 0;
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              if (next >= jobs.length) return resolve();
              const id = next++;
              worker.postMessage({ id, job: jobs[id] });
            };
            worker.on(
              'message',
              (message: { id: number; landmarks?: number[]; error?: string }) => {
                if (message.error !== undefined) {
                  return reject(new Error(`${jobs[message.id].file}: ${message.error}`));
                }
                results[message.id] = message.landmarks as number[];
                onDone?.(++done);
                send();
              },
            );
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (code !== 0) reject(new Error(`a render worker exited with code ${code}`));
            });
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
  return results;
}
