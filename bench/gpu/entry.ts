// Entry of the self-contained Node bundle (bench/gpu/dist/bench.mjs): the benchmark on Dawn, options from the command line.

import { main } from '../node-main';

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(2);
});
