// Entry of a worker process (`workers: N`): the primary forks it with node:cluster.
import { runWorker } from './worker.js';

await runWorker();
