// Formats a report as a table, one line per case with every implementation side by side and our speed-up over each peer.

import type { Impl, Report, Row } from './types';

const PEERS: Impl[] = ['tfjs-webgpu', 'jax-js'];

/** A time in ms as the tables show it (ms from 1 ms up, µs below). */
export function ms(x: number): string {
  return x >= 100 ? `${x.toFixed(0)} ms` : x >= 1 ? `${x.toFixed(2)} ms` : `${(x * 1000).toFixed(1)} µs`;
}

function rate(r: Row): string {
  if (r.gflops != null) return `${fmtRate(r.gflops)} GFLOP/s`;
  if (r.gbps != null) return `${fmtRate(r.gbps)} GB/s`;
  if (r.samplesPerSec != null) return `${Math.round(r.samplesPerSec)}/s`;
  return '';
}

function fmtRate(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** Rows (suite, case, impl) whose result failed a check at the timed size. */
function failedRows(report: Report): Set<string> {
  return new Set((report.checks ?? []).filter((c) => !c.ok && c.suite != null && c.case != null).map((c) => rowKey(c.suite!, c.case!, c.impl)));
}

/** One key per (suite, case, implementation): how rows of a report, or of two, are matched. */
export const rowKey = (suite: string, name: string, impl: Impl) => `${suite}\u0000${name}\u0000${impl}`;

/** 't' for a row timed by GPU timestamps, 'w' for wall clock. */
export const timingMark = (r: Row): 't' | 'w' => (r.timing === 'gpu-timestamp' ? 't' : 'w');

/** A ratio as the tables show it: "1.25×", "12×". */
export const ratioText = (x: number) => `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`;

/** The adapter as "vendor / architecture / description". */
export const adapterName = (report: Report) => [report.adapter.vendor, report.adapter.architecture, report.adapter.description].filter(Boolean).join(' / ');

function cell(r: Row | undefined, failed: Set<string>): string {
  if (!r) return '—';
  const t = r.timing === 'gpu-timestamp' ? 't' : 'w';
  return `${ms(r.ms)} (${t}) ${rate(r)}${failed.has(rowKey(r.suite, r.case, r.impl)) ? ' ✗' : ''}`.trim();
}

/**
 * Peer time over ours (> 1: we are faster), from the two times the cells show: 't' when both are GPU
 * timestamps, 'w' when both are wall clock (train rows always are). Where one row fell back to wall
 * clock (its timestamps exceeded its own wall time) the methods differ and the mark says so, ours
 * first: 'w:t' or 't:w'. (Comparing wall clocks there instead would use a time the table does not
 * show, and a peer's wall clock can hold syncs its timestamps do not.)
 */
export function speedup(ours: Row, peer: Row): { ratio: number; method: 't' | 'w' | 'w:t' | 't:w' } {
  const [a, b] = [timingMark(ours), timingMark(peer)];
  return { ratio: peer.ms / ours.ms, method: a === b ? a : (`${a}:${b}` as 'w:t' | 't:w') };
}

function ratioCell(ours: Row | undefined, peer: Row | undefined): string {
  if (!ours || !peer) return '—';
  const { ratio, method } = speedup(ours, peer);
  return `${ratioText(ratio)} (${method})`;
}

interface Line {
  suite: string;
  case: string;
  cells: string[];
}

function lines(report: Report): { header: string[]; body: Line[] } {
  const present = new Set(report.rows.map((r) => r.impl));
  const peers = PEERS.filter((p) => present.has(p));
  const hasEncode = report.rows.some((r) => r.encodeMs != null);
  const failed = failedRows(report);
  const header = ['suite', 'case', 'shadergrad', ...peers, ...peers.map((p) => `vs ${p}`), ...(hasEncode ? ['encode/replay'] : [])];
  const keys: string[] = [];
  const byKey = new Map<string, Map<Impl, Row>>();
  for (const r of report.rows) {
    const key = `${r.suite}\u0000${r.case}`;
    if (!byKey.has(key)) {
      byKey.set(key, new Map());
      keys.push(key);
    }
    byKey.get(key)!.set(r.impl, r);
  }
  const body = keys.map((key) => {
    const rows = byKey.get(key)!;
    const [suite, name] = key.split('\u0000') as [string, string];
    const ours = rows.get('shadergrad');
    const cells = [
      cell(ours, failed),
      ...peers.map((p) => cell(rows.get(p), failed)),
      ...peers.map((p) => ratioCell(ours, rows.get(p))),
      ...(hasEncode ? [ours?.encodeMs != null ? ms(ours.encodeMs) : ''] : []),
    ];
    return { suite, case: name, cells };
  });
  return { header, body };
}

/** Columns padded to their widest cell, a rule under the header (the terminal). */
export function textTable(header: string[], body: string[][]): string {
  const table = [header, ...body];
  const widths = header.map((_, i) => Math.max(...table.map((row) => [...row[i]!].length)));
  const out = table.map((row) => row.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join('  ').trimEnd());
  out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}

/** The same rows as a Markdown table (bench/README.md). */
export function markdownTable(header: string[], body: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/** A report's table for the terminal. */
export function formatTable(report: Report): string {
  const { header, body } = lines(report);
  return textTable(header, body.map((l) => [l.suite, l.case, ...l.cells]));
}

/** A report's table in Markdown. */
export function formatMarkdown(report: Report): string {
  const { header, body } = lines(report);
  return markdownTable(header, body.map((l) => [l.suite, l.case, ...l.cells]));
}

/** "; 33/33 at small sizes before the suites, 55/55 on the timed rows' results" where the report has checks of timed rows (reports before them have none). */
function checkCounts(report: Report): string {
  const timed = report.checks.filter((c) => c.suite != null);
  if (!timed.length) return '';
  const small = report.checks.filter((c) => c.suite == null);
  const ok = (cs: typeof timed) => `${cs.filter((c) => c.ok).length}/${cs.length}`;
  return `; ${ok(small)} at small sizes before the suites, ${ok(timed)} on the timed rows' results`;
}

/** Everything after the table: adapter, implementations, checks, notes, the legend. */
export function formatSummary(report: Report): string {
  const out = [
    `adapter: ${adapterName(report)}; ${report.environment}; ${report.quick ? '--quick; ' : ''}${report.seconds} s`,
    ...report.impls.map((i) => `  ${i.impl} ${i.version}: ${i.error ? `NOT RUN (${i.error})` : `backend ${i.backend}, timestamp-query ${i.timestampQuery ? 'yes' : 'no'}`}`),
    `checks (${report.checks.filter((c) => c.ok).length}/${report.checks.length} ok${checkCounts(report)}):`,
    ...report.checks.map(
      (c) =>
        `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.impl.padEnd(12)} ${c.name}` +
        (c.relErr == null
          ? `: ${c.against}`
          : `${c.value == null ? ` (vs ${c.against})` : `: ${c.value.toPrecision(8)} (${c.against} ${c.reference!.toPrecision(8)})`} rel. error ${c.relErr.toExponential(2)} ≤ ${c.tolerance}`),
    ),
    'notes:',
    ...report.notes.map((n) => `  - ${n}`),
    'legend: t = GPU timestamps, w = wall clock; "vs peer" = peer time / our time as the two cells show them (> 1: shadergrad is faster),',
    '        t:w / w:t (ours first) where one row fell back to wall clock (its timestamps exceeded its wall time);',
    '        encode/replay = CPU ms inside one replay() of our captured step (hooks, uniform upload, encoding, submit);',
    '        ✗ = a check of that row\'s own result (read once after it was timed) failed: see the checks.',
  ];
  return out.join('\n');
}
