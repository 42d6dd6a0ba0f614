// Two bench reports side by side, row by row: before and after a change, the speed-up, and whether it is beyond both rows' spreads.

import { adapterName, markdownTable, ms, ratioText, rowKey, textTable, timingMark as mark } from './report';
import type { Impl, Report, Row } from './types';

/** One (suite, case, impl) measured in both reports. */
export interface ComparedRow {
  before: Row;
  after: Row;
  /** before.ms / after.ms: > 1 when the after row is faster; null where a side's ms is not above 0 (a timestamp rounded to 0). */
  speedup: number | null;
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
  /**
   * Other differences between the runs worth a warning: the environment (browser or Node, and the
   * GPU's name where the run recorded it — Dawn names an H100 and an H200 alike), --quick, and
   * rows that appear twice in one report.
   */
  warnings: string[];
  rows: ComparedRow[];
  /** Rows of one report only, as "suite case (impl)". */
  onlyBefore: string[];
  onlyAfter: string[];
  /** Geometric mean of the speed-ups per implementation, over its rows with a verdict (measured the same way in both, with spreads, above 0 ms). */
  geomean: Partial<Record<Impl, { speedup: number; rows: number }>>;
}

const key = (r: Row) => rowKey(r.suite, r.case, r.impl);
const label = (r: Row) => `${r.suite} ${r.case} (${r.impl})`;

/** Pairs the rows of two reports by suite, case and implementation (`keep`: which rows to compare). */
export function compareReports(before: Report, after: Report, keep: (r: Row) => boolean = () => true): Comparison {
  const warnings: string[] = [];
  const unique = (report: Report, side: string) => {
    const byKey = new Map<string, Row>();
    for (const r of report.rows.filter(keep)) {
      if (byKey.has(key(r))) warnings.push(`the ${side} report has ${label(r)} twice: its last row is compared`);
      byKey.set(key(r), r);
    }
    return byKey;
  };
  const [beforeByKey, afterByKey] = [unique(before, 'before'), unique(after, 'after')];
  const rows: ComparedRow[] = [];
  const onlyBefore: string[] = [];
  for (const [k, b] of beforeByKey) {
    const a = afterByKey.get(k);
    if (!a) {
      onlyBefore.push(label(b));
      continue;
    }
    const [mb, ma] = [mark(b), mark(a)];
    const same = mb === ma;
    const timed = b.ms > 0 && a.ms > 0;
    let verdict: ComparedRow['verdict'] = null;
    if (same && timed && a.spread && b.spread) verdict = a.spread[1] < b.spread[0] ? 'faster' : a.spread[0] > b.spread[1] ? 'slower' : 'noise';
    rows.push({ before: b, after: a, speedup: timed ? b.ms / a.ms : null, method: same ? mb : (`${mb}→${ma}` as 't→w' | 'w→t'), verdict });
  }
  const onlyAfter = [...afterByKey].filter(([k]) => !beforeByKey.has(k)).map(([, r]) => label(r));
  const geomean: Comparison['geomean'] = {};
  for (const impl of new Set(rows.map((r) => r.after.impl))) {
    const judged = rows.filter((r) => r.after.impl === impl && r.verdict !== null);
    if (judged.length) geomean[impl] = { speedup: Math.exp(judged.reduce((s, r) => s + Math.log(r.speedup!), 0) / judged.length), rows: judged.length };
  }
  if (before.environment !== after.environment) warnings.push(`the runs' environments differ (before: ${before.environment}; after: ${after.environment})`);
  if (before.quick !== after.quick) warnings.push(`one run is --quick and the other is not (before: ${before.quick ? '--quick' : 'full'}; after: ${after.quick ? '--quick' : 'full'})`);
  const names = { before: adapterName(before), after: adapterName(after) };
  return { adapters: { ...names, same: names.before === names.after }, warnings, rows, onlyBefore, onlyAfter, geomean };
}

function table(c: Comparison): { header: string[]; body: string[][] } {
  const header = ['suite', 'case', 'impl', 'before', 'after', 'speed-up', 'verdict'];
  const body = c.rows.map((r) => [
    r.after.suite,
    r.after.case,
    r.after.impl,
    `${ms(r.before.ms)} (${mark(r.before)})`,
    `${ms(r.after.ms)} (${mark(r.after)})`,
    r.speedup === null ? 'n/a (0 ms)' : `${ratioText(r.speedup)} (${r.method})`,
    r.verdict ?? (r.speedup === null ? 'not timed' : r.method.length > 1 ? 'methods differ' : 'no spread'),
  ]);
  return { header, body };
}

/** The comparison for the terminal (or as Markdown): a warning when the devices differ, the table, what only one report has, the geometric means. */
export function formatComparison(c: Comparison, markdown = false): string {
  const { header, body } = table(c);
  const out: string[] = [];
  if (!c.adapters.same) {
    out.push(`warning: the reports come from different adapters (before: ${c.adapters.before}; after: ${c.adapters.after}): the speed-ups compare devices, not only code`);
  }
  for (const w of c.warnings) out.push(`warning: ${w}`);
  if (out.length) out.push('');
  out.push(markdown ? markdownTable(header, body) : textTable(header, body), '');
  for (const [impl, g] of Object.entries(c.geomean)) {
    const left = c.rows.filter((r) => r.after.impl === impl).length - g.rows;
    out.push(`${impl}: geometric mean speed-up ${ratioText(g.speedup)} over ${g.rows} rows measured the same way in both${left ? ` (${left} left out: methods differ, no spread or 0 ms)` : ''}`);
  }
  if (c.onlyBefore.length) out.push(`only before: ${c.onlyBefore.join('; ')}`);
  if (c.onlyAfter.length) out.push(`only after: ${c.onlyAfter.join('; ')}`);
  out.push(
    'legend: speed-up = before / after (> 1: the after run is faster), t = GPU timestamps, w = wall clock, t→w / w→t where the method changed;',
    "        verdict: faster / slower when the two rows' sample spreads do not overlap, noise when they do; the spreads are",
    '        within one run, and a machine drifts further between runs: compare two runs of the same code first to see how far.',
  );
  return out.join('\n');
}
