// Worker thread for the compaction run: holds the workload (sent once as workerData) and compacts the jobs the
// main thread posts, answering each with its JobResult and a tick per packing (for the progress bar).
import { parentPort, workerData } from 'node:worker_threads';
import { runJob, type Job, type JobContext } from './job';

export type WorkerReply = { kind: 'packing' } | { kind: 'done'; result: ReturnType<typeof runJob> } | { kind: 'error'; message: string };

const ctx = workerData as JobContext;
const port = parentPort;
if (port === null) throw new Error('worker.ts runs as a worker thread');
port.on('message', (job: Job) => {
  try {
    const result = runJob(ctx, job, () => port.postMessage({ kind: 'packing' } satisfies WorkerReply));
    port.postMessage({ kind: 'done', result } satisfies WorkerReply);
  } catch (e: unknown) {
    port.postMessage({ kind: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies WorkerReply);
  }
});
