// The benchmark in Node on Dawn (`npm run bench -- --node`, and the bundle bench/gpu runs): peers get navigator.gpu from the webgpu package.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from './lib/args';
import { compareReports, formatComparison } from './lib/compare';
import { formatMarkdown, formatSummary, formatTable } from './lib/report';
import { runBench } from './lib/run';
import type { Report, Row } from './lib/types';

/** The webgpu package's GPU objects: Dawn aborts the process if one is collected while its devices live. */
const keep: unknown[] = [];

/**
 * tfjs-backend-webgpu and jax-js look for navigator.gpu (and jax-js for navigator.userAgent). Gives
 * them one from the webgpu package, created on first use — after shadergrad's Engine has picked the
 * Vulkan driver (it points VK_ICD_FILENAMES at SwiftShader when there is no GPU), so all three
 * implementations get the same adapter.
 */
async function provideNavigatorGpu(): Promise<void> {
  const moduleName = 'webgpu';
  const dawn = (await import(/* @vite-ignore */ moduleName)) as { create(options: string[]): GPU; globals: Record<string, unknown> };
  Object.assign(globalThis, dawn.globals);
  const g = globalThis as { navigator?: object };
  const nav = (g.navigator ??= {}) as Record<string, unknown>;
  let gpu: GPU | null = null;
  Object.defineProperty(nav, 'gpu', {
    configurable: true,
    get: () => {
      if (!gpu) {
        // Unquantized timestamps, as shadergrad's own Engine asks for in Node (Dawn rounds them to
        // ~65 µs by default: the peers' kernel rows on the H200 read 0.0 or 65.5 µs).
        gpu = dawn.create(['disable-dawn-features=timestamp_quantization']);
        keep.push(gpu);
      }
      return gpu;
    },
  });
  if (!nav.userAgent) Object.defineProperty(nav, 'userAgent', { configurable: true, value: `Node.js/${process.versions.node}` });
}

/** A saved JSON report, or null (and exit status 2) after saying why it cannot be read. */
function readReport(flag: string, file: string): Report | null {
  let saved: Report;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as Report;
  } catch (error) {
    console.error(`bench: ${flag} ${file}: ${(error as Error).message}`);
    process.exitCode = 2;
    return null;
  }
  const isRow = (r: Row) => r && typeof r.suite === 'string' && typeof r.case === 'string' && typeof r.impl === 'string' && typeof r.ms === 'number';
  if (!saved || !saved.adapter || !Array.isArray(saved.rows) || !saved.rows.every(isRow)) {
    console.error(`bench: ${flag} ${file}: not a bench report ({ adapter, rows: [{ suite, case, impl, ms, … }] })`);
    process.exitCode = 2;
    return null;
  }
  return saved;
}

/** Writes the report atomically (a crash mid-write leaves the previous complete version). */
function writeReport(file: string, report: Report): void {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

function print(report: Report): void {
  console.log('');
  console.log(formatTable(report));
  console.log('');
  console.log(formatSummary(report));
}

export async function main(args: string[]): Promise<void> {
  let options;
  try {
    options = parseArgs(args);
  } catch (error) {
    if ((error as { help?: boolean }).help) {
      console.log((error as Error).message);
      return;
    }
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  if (options.table) {
    const saved = readReport('--table', options.table);
    if (!saved) return;
    if (options.markdown) console.log(formatMarkdown(saved));
    else print(saved);
    return;
  }
  if (options.compare) {
    const [before, after] = options.compare.map((file) => readReport('--compare', file));
    if (!before || !after) return;
    const { suites, impls, filter } = options;
    const keep = (r: Row) => suites.includes(r.suite) && impls.includes(r.impl) && (!filter.length || filter.some((f) => r.case.includes(f)));
    console.log(formatComparison(compareReports(before, after, keep), options.markdown));
    return;
  }
  const file = options.json ? resolve(options.json) : null;
  if (file) {
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (error) {
      console.error(`bench: --json ${options.json}: cannot write there (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      process.exitCode = 2;
      return;
    }
  }
  await provideNavigatorGpu();
  const report = await runBench(
    // BENCH_DEVICE (bench/gpu's scripts set it from nvidia-smi): the GPU's name, which Dawn's adapter info may not give.
    { ...options, environment: `node ${process.versions.node} + dawn (webgpu package)${process.env.BENCH_DEVICE ? `, ${process.env.BENCH_DEVICE}` : ''}` },
    (line) => console.log(line),
    // Rewritten after every row: if the process dies, the file holds every row measured so far.
    file ? (partial) => writeReport(file, partial) : undefined,
  );
  print(report);
  if (file) console.log(`wrote ${file}`);
  if (report.checks.some((c) => !c.ok)) process.exitCode = 1;
}
