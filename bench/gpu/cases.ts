// `--cases`: the shared layer cases (test/cases) on this machine's adapter, so a lent GPU checks the GPU code paths (vec4 and workgroup matmul tiles among them) against float64 too.

import { Engine } from '../../src/index';
import { suites } from '../../test/cases/index';
import { withTimeout } from '../../test/harness/check';

/** `--cases [--grep TEXT]`: runs every case (or those whose name contains TEXT); exits 1 if any fails. */
export async function main(args: string[]): Promise<void> {
  const at = args.indexOf('--grep');
  const grep = at >= 0 ? args[at + 1] : undefined;
  const engine = await Engine.create();
  const { vendor, architecture, description } = engine.adapterInfo;
  console.log(`adapter: ${vendor} ${architecture} ${description}`.trim());
  const started = performance.now();
  let [passed, failed] = [0, 0];
  for (const [family, cases] of Object.entries(suites)) {
    for (const testCase of cases) {
      if (grep !== undefined && !testCase.name.includes(grep)) continue;
      const t0 = performance.now();
      try {
        await withTimeout(testCase.run(engine), testCase.timeout ?? 120_000);
        passed++;
        console.log(`ok   ${family} › ${testCase.name} (${(performance.now() - t0).toFixed(0)} ms)`);
      } catch (error) {
        failed++;
        console.log(`FAIL ${family} › ${testCase.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  console.log(`cases: ${passed} passed, ${failed} failed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  engine.destroy();
  if (failed) process.exitCode = 1;
}
