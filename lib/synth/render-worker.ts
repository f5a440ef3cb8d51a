// Worker thread body: runs the image jobs it is sent and answers with their landmarks.
import { parentPort } from 'node:worker_threads';
import { runImageJob, type ImageJob } from './image-job';

parentPort?.on('message', (message: { id: number; job: ImageJob }) => {
  runImageJob(message.job).then(
    (landmarks) => parentPort?.postMessage({ id: message.id, landmarks }),
    (error: Error) => parentPort?.postMessage({ id: message.id, error: error.message }),
  );
});
