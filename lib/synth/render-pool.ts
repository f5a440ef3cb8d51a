// Spreads image jobs over worker threads (rendering and JPEG encoding are pure JavaScript and
// CPU-bound); with one worker they run on this thread, which for a few dozen images is faster
// than starting workers.
import * as path from 'node:path';
import { WorkerPool } from '../util/worker-pool';
import { runImageJob, type ImageJob } from './image-job';

/** Renders every job; resolves to each job's landmarks, in job order. */
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
  const pool = new WorkerPool<ImageJob, number[]>(path.join(__dirname, 'render-worker.js'), {
    threads: workers,
    name: 'synth',
    tasksPerWorker: 1,
  });
  try {
    await pool.run(jobs, (k, landmarks) => {
      results[k] = landmarks;
      onDone?.(++done);
    });
  } finally {
    await pool.close();
  }
  return results;
}
