// Worker thread body: renders the image jobs it is sent and answers with their landmarks.
import { serveTasks } from '../util/worker-pool';
import { runImageJob, type ImageJob } from './image-job';

serveTasks(async (job: ImageJob) => {
  try {
    return { result: await runImageJob(job) };
  } catch (error) {
    throw new Error(`${job.file}: ${(error as Error).message}`);
  }
});
