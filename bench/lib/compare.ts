// Two bench reports side by side, row by row: before and after a change, the speed-up, and whether it is beyond both rows' spreads.

import { markdownTable, textTable } from './report';
import type { Impl, Report, Row } from './types';

/** One (suite, case, impl) measured in both reports. */
export interface ComparedRow {
  before: Row;
  after: Row;
  /** before.ms / after.ms: > 1 when the after row is faster. */
  speedup: number;
  /** 't' or 'w' when both rows used that method; 't→w' or 'w→t' when it changed (the ratio then mixes methods). */
  method: 't' | 'w' | 't→w' | 'w→t';
  /**
   * 'faster' or 'slower' when even the after row's worst (best) sample beats (trails) the before
   * row's best (worst); 'noise' when their spreads overlap; null when the methods differ (or a
   * row has no spread).
   */
  verdict: 'faster' | 'slower' | 'noise' | null;
}

export interface Comparison {
  /** The two adapters as "vendor / architecture / description", and whether they are the same device. */
  adapters: { before: string; after: string; same: boolean };
  rows: ComparedRow[];
  /** Rows of one report only, as "suite case (impl)". */
  onlyBefore: string[];
  onlyAfter: string[];
  /** Geometric mean of the speed-ups per implementation, over its rows measured the same way in both. */
  geomean: Partial<Record<Impl, { speedup: number; rows: number }>>;
}

const key = (r: Row) => `${r.suite}\u0000${r.case}\u0000${r.impl}`;
const label = (r: Row) => `${r.suite} ${r.case} (${r.impl})`;
const adapterName = (report: Report) => [report.adapter.vendor, report.adapter.architecture, report.adapter.description].filter(Boolean).join(' / ');
const mark = (r: Row): 't' | 'w' => (r.timing === 'gpu-timestamp' ? 't' : 'w');

/** Pairs the rows of two reports by suite, case and implementation (`keep`: which rows to compare). */
export function compareReports(before: Report, after: Report, keep: (r: Row) => boolean = () => true): Comparison {
  const afterByKey = new Map(after.rows.filter(keep).map((r) => [key(r), r]));
  const beforeKeys = new Set<string>();
  const rows: ComparedRow[] = [];
  const onlyBefore: string[] = [];
  for (const b of before.rows.filter(keep)) {
    beforeKeys.add(key(b));
    const a = afterByKey.get(key(b));
    if (!a) {
      onlyBefore.push(label(b));
      continue;
    }
    const [mb, ma] = [mark(b), mark(a)];
    const same = mb === ma;
    let verdict: ComparedRow['verdict'] = null;
    if (same && a.spread && b.spread) verdict = a.spread[1] < b.spread[0] ? 'faster' : a.spread[0] > b.spread[1] ? 'slower' : 'noise';
    rows.push({ before: b, after: a, speedup: b.ms / a.ms, method: same ? mb : (`${mb}→${ma}` as 't→w' | 'w→t'), verdict });
  }
  const onlyAfter = after.rows.filter((r) => keep(r) && !beforeKeys.has(key(r))).map(label);
  const geomean: Comparison['geomean'] = {};
  for (const impl of new Set(rows.map((r) => r.after.impl))) {
    const same = rows.filter((r) => r.after.impl === impl && r.verdict !== null);
    if (same.length) geomean[impl] = { speedup: Math.exp(same.reduce((s, r) => s + Math.log(r.speedup), 0) / same.length), rows: same.length };
  }
  const names = { before: adapterName(before), after: adapterName(after) };
  return { adapters: { ...names, same: names.before === names.after }, rows, onlyBefore, onlyAfter, geomean };
}

function ms(x: number): string {
  return x >= 100 ? `${x.toFixed(0)} ms` : x >= 1 ? `${x.toFixed(2)} ms` : `${(x * 1000).toFixed(1)} µs`;
}

const ratio = (x: number) => `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`;

function table(c: Comparison): { header: string[]; body: string[][] } {
  const header = ['suite', 'case', 'impl', 'before', 'after', 'speed-up', 'verdict'];
  const body = c.rows.map((r) => [
    r.after.suite,
    r.after.case,
    r.after.impl,
    `${ms(r.before.ms)} (${mark(r.before)})`,
    `${ms(r.after.ms)} (${mark(r.after)})`,
    `${ratio(r.speedup)} (${r.method})`,
    r.verdict ?? (r.method.length > 1 ? 'methods differ' : 'no spread'),
  ]);
  return { header, body };
}

/** The comparison for the terminal (or as Markdown): a warning when the devices differ, the table, what only one report has, the geometric means. */
export function formatComparison(c: Comparison, markdown = false): string {
  const { header, body } = table(c);
  const out: string[] = [];
  if (!c.adapters.same) {
    out.push(`warning: the reports come from different adapters (before: ${c.adapters.before}; after: ${c.adapters.after}): the speed-ups compare devices, not only code`, '');
  }
  out.push(markdown ? markdownTable(header, body) : textTable(header, body), '');
  for (const [impl, g] of Object.entries(c.geomean)) out.push(`${impl}: geometric mean speed-up ${ratio(g.speedup)} over ${g.rows} rows measured the same way in both`);
  if (c.onlyBefore.length) out.push(`only before: ${c.onlyBefore.join('; ')}`);
  if (c.onlyAfter.length) out.push(`only after: ${c.onlyAfter.join('; ')}`);
  out.push(
    'legend: speed-up = before / after (> 1: the after run is faster), t = GPU timestamps, w = wall clock, t→w / w→t where the method changed;',
    "        verdict: faster / slower when the two rows' sample spreads do not overlap, noise when they do; the spreads are",
    '        within one run, and a machine drifts further between runs: compare two runs of the same code first to see how far.',
  );
  return out.join('\n');
}
