// Entry of the self-contained Node bundle (bench/gpu/dist/bench.mjs): the benchmark on Dawn, options from the command line.

import { main as cases } from './cases';
import { main as tiles } from '../matmul-tiles';
import { main } from '../node-main';
import { main as step } from '../train-step';

// `--tiles …` runs the matmul tile sweep, `--step …` issue 3's step benchmark, `--cases …` the shared
// layer cases, instead of the benchmark.
const args = process.argv.slice(2);
const modes: Record<string, (args: string[]) => Promise<void>> = { '--tiles': tiles, '--step': step, '--cases': cases };
const run = modes[args[0] ?? ''] ?? null;
(run ? run(args.slice(1)) : main(args)).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(2);
});
