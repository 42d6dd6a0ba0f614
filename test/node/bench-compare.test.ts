// `npm run bench -- --compare BEFORE AFTER`: two reports paired row by row, the speed-up and its verdict against the rows' spreads (CPU only).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../bench/lib/args';
import { compareReports, formatComparison } from '../../bench/lib/compare';
import type { Report, Row } from '../../bench/lib/types';

const row = (suite: Row['suite'], name: string, impl: Row['impl'], ms: number, spread: [number, number], timing: Row['timing'] = 'gpu-timestamp'): Row => ({
  suite,
  case: name,
  impl,
  ms,
  timing,
  wallMs: ms,
  spread,
  samples: 5,
  reps: 1,
});

const report = (rows: Row[], description = 'SwiftShader Device (Subzero)'): Report => ({
  adapter: { vendor: 'google', architecture: 'swiftshader', description },
  rows,
  checks: [],
  impls: [],
  notes: [],
  environment: 'test',
  quick: false,
  startedAt: '2026-11-26T00:00:00Z',
  seconds: 1,
});

const before = report([
  row('matmul', '512x512x512', 'shadergrad', 10, [9.5, 10.5]),
  row('matmul', '512x512x512', 'tfjs-webgpu', 40, [39, 41]),
  row('elementwise', 'relu forward 4M', 'shadergrad', 20, [19, 21]),
  row('train', '784-512-256-10 b256', 'shadergrad', 100, [98, 103], 'wall'),
  row('softmax', '256x10', 'shadergrad', 1, [0.9, 1.1]),
  row('optimizer', 'adam 1M params', 'shadergrad', 5, [4.9, 5.1]),
]);
const after = report([
  row('matmul', '512x512x512', 'shadergrad', 8, [7.9, 8.2]),
  row('matmul', '512x512x512', 'tfjs-webgpu', 40.5, [39.5, 41]),
  row('elementwise', 'relu forward 4M', 'shadergrad', 25, [24, 26]),
  row('train', '784-512-256-10 b256', 'shadergrad', 80, [79, 82], 'gpu-timestamp'),
  row('softmax', '256x10', 'shadergrad', 1, [0.95, 1.05]),
  row('batchnorm', 'forward 256x512', 'shadergrad', 2, [1.9, 2.1]),
]);

describe('bench --compare', () => {
  it('pairs rows by suite, case and implementation; the speed-up is before / after; the verdict needs spreads that do not overlap', () => {
    const c = compareReports(before, after);
    const get = (suite: string, impl: string) => c.rows.find((r) => r.after.suite === suite && r.after.impl === impl)!;
    expect(c.rows).toHaveLength(5);
    expect(get('matmul', 'shadergrad')).toMatchObject({ speedup: 10 / 8, method: 't', verdict: 'faster' });
    expect(get('matmul', 'tfjs-webgpu')).toMatchObject({ speedup: 40 / 40.5, method: 't', verdict: 'noise' });
    expect(get('elementwise', 'shadergrad')).toMatchObject({ speedup: 20 / 25, verdict: 'slower' });
    // The method changed: the ratio is shown, marked, and judged by neither spread nor the mean.
    expect(get('train', 'shadergrad')).toMatchObject({ speedup: 100 / 80, method: 'w→t', verdict: null });
    expect(get('softmax', 'shadergrad')).toMatchObject({ speedup: 1, verdict: 'noise' });
    expect(c.onlyBefore).toEqual(['optimizer adam 1M params (shadergrad)']);
    expect(c.onlyAfter).toEqual(['batchnorm forward 256x512 (shadergrad)']);
    expect(c.geomean.shadergrad!.rows).toBe(3);
    expect(c.geomean.shadergrad!.speedup).toBeCloseTo(Math.cbrt((10 / 8) * (20 / 25) * 1), 12);
    expect(c.geomean['tfjs-webgpu']).toEqual({ speedup: 40 / 40.5, rows: 1 });
    expect(c.adapters.same).toBe(true);
  });

  it('keeps only the rows asked for, and warns when the reports come from different devices', () => {
    const c = compareReports(before, report(after.rows, 'NVIDIA H100'), (r) => r.impl === 'shadergrad' && r.suite === 'matmul');
    expect(c.rows.map((r) => `${r.after.suite} ${r.after.impl}`)).toEqual(['matmul shadergrad']);
    expect(c.onlyBefore).toEqual([]);
    const text = formatComparison(c);
    expect(text).toMatch(/^warning: the reports come from different adapters \(before: google \/ swiftshader \/ SwiftShader Device \(Subzero\); after: google \/ swiftshader \/ NVIDIA H100\)/);
    expect(text).toMatch(/matmul\s+512x512x512\s+shadergrad\s+10\.00 ms \(t\)\s+8\.00 ms \(t\)\s+1\.25× \(t\)\s+faster/);
    expect(formatComparison(c, true)).toContain('| matmul | 512x512x512 | shadergrad | 10.00 ms (t) | 8.00 ms (t) | 1.25× (t) | faster |');
  });

  it('a row timed at 0 ms (a rounded timestamp) gets no speed-up and stays out of the mean; duplicates, other environments and --quick are warned of', () => {
    const zero = report([row('matmul', '256x256x256', 'jax-js', 0, [0, 0]), row('matmul', '512x512x512', 'jax-js', 2, [1.9, 2.1]), row('matmul', '512x512x512', 'jax-js', 2.2, [2, 2.4])]);
    const later = { ...report([row('matmul', '256x256x256', 'jax-js', 0.05, [0.04, 0.06]), row('matmul', '512x512x512', 'jax-js', 1, [0.9, 1.1])]), environment: 'node 22 + dawn, NVIDIA H200', quick: true };
    const c = compareReports(zero, later);
    expect(c.rows.map((r) => [r.after.case, r.speedup, r.verdict])).toEqual([
      ['256x256x256', null, null],
      ['512x512x512', 2.2, 'faster'],
    ]);
    expect(c.geomean['jax-js']).toEqual({ speedup: 2.2, rows: 1 });
    expect(c.warnings).toEqual([
      'the before report has matmul 512x512x512 (jax-js) twice: its last row is compared',
      "the runs' environments differ (before: test; after: node 22 + dawn, NVIDIA H200)",
      'one run is --quick and the other is not (before: full; after: --quick)',
    ]);
    const text = formatComparison(c);
    expect(text).toMatch(/256x256x256\s+jax-js\s+0\.0 µs \(t\)\s+50\.0 µs \(t\)\s+n\/a \(0 ms\)\s+not timed/);
    expect(text).toContain('jax-js: geometric mean speed-up 2.20× over 1 rows measured the same way in both (1 left out: methods differ, no spread or 0 ms)');
    expect(text).not.toMatch(/NaN|Infinity/);
  });

  it('reads --compare BEFORE AFTER, and refuses a missing file name or --table with it', () => {
    expect(parseArgs(['--compare', 'a.json', 'b.json', '--impl', 'shadergrad']).compare).toEqual(['a.json', 'b.json']);
    expect(parseArgs([]).compare).toBeNull();
    expect(() => parseArgs(['--compare', 'a.json'])).toThrow(/--compare needs two report files, before and after/);
    expect(() => parseArgs(['--compare', 'a.json', '--markdown'])).toThrow(/--compare needs two report files/);
    expect(() => parseArgs(['--compare', 'a.json', '-h'])).toThrow(/--compare needs two report files/);
    expect(() => parseArgs(['--compare', 'a.json', 'b.json', '--table', 'c.json'])).toThrow(/--table and --compare: one at a time/);
  });

  it('runs from the command line; a file that is not a report exits 2, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
    const [a, b, bad] = ['before.json', 'after.json', 'bad.json'].map((f) => join(dir, f)) as [string, string, string];
    writeFileSync(a, JSON.stringify(before));
    writeFileSync(b, JSON.stringify(after));
    writeFileSync(bad, JSON.stringify({ rows: [{ tile: 'vec4 128x128', gflops: 1 }] }));
    const run = (...args: string[]) => spawnSync(process.execPath, ['bench/run.mjs', ...args], { encoding: 'utf8' });
    const ok = run('--compare', a, b, '--suite', 'matmul');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/matmul\s+512x512x512\s+tfjs-webgpu\s+40\.00 ms \(t\)\s+40\.50 ms \(t\)\s+0\.99× \(t\)\s+noise/);
    expect(ok.stdout).not.toMatch(/relu forward/);
    const wrong = run('--compare', a, bad);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/bench: --compare .*bad\.json: not a bench report/);
  }, 120_000);
});
