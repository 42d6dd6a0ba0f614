// Command-line options of `npm run bench`, shared by the Node entry, the browser page (as URL parameters) and the runner.

import { IMPLS, SUITES, type BenchOptions, type Impl, type Suite } from './types';

export interface CliOptions extends Omit<BenchOptions, 'environment'> {
  node: boolean;
  json: string | null;
  /** Print the table of an existing JSON report and exit. */
  table: string | null;
  /** Compare two JSON reports (before, after) row by row and exit. */
  compare: [before: string, after: string] | null;
  /** With --table or --compare: as Markdown (for bench/README.md). */
  markdown: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--node] [--json FILE] [--suite ${SUITES.join(',')}]
                        [--impl ${IMPLS.join(',')}] [--filter TEXT[,TEXT]] [--time-limit SECONDS]
       npm run bench -- --table FILE [--markdown]      (print the table of a JSON report)
       npm run bench -- --compare BEFORE AFTER [--impl …] [--suite …] [--filter …] [--markdown]
                                                       (two JSON reports row by row: the speed-up, beyond noise or not)
  Default: every suite and implementation, in headless Chromium; --node: on Dawn in Node.
  --filter keeps the cases whose name contains one of the texts; --time-limit skips what is left after that long.`;

function list<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T[] {
  if (!value) throw new Error(`${flag} needs a value\n${USAGE}`);
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`${flag}: unknown '${item}' (one of ${allowed.join(', ')})`);
  return items as T[];
}

export function parseArgs(args: readonly string[]): CliOptions {
  const out: CliOptions = { quick: false, node: false, json: null, table: null, compare: null, markdown: false, suites: [...SUITES], impls: [...IMPLS], filter: [], timeLimit: 0 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => args[++i];
    if (a === '--quick') out.quick = true;
    else if (a === '--node') out.node = true;
    else if (a === '--markdown') out.markdown = true;
    else if (a === '--json') {
      const file = value();
      if (!file) throw new Error(`--json needs a file name\n${USAGE}`);
      out.json = file;
    } else if (a === '--table') {
      const file = value();
      if (!file) throw new Error(`--table needs a file name\n${USAGE}`);
      out.table = file;
    } else if (a === '--compare') {
      const [before, after] = [value(), value()];
      if (!before || !after || before.startsWith('-') || after.startsWith('-')) throw new Error(`--compare needs two report files, before and after\n${USAGE}`);
      out.compare = [before, after];
    } else if (a === '--time-limit') {
      const s = Number(value());
      if (!(s > 0)) throw new Error(`--time-limit needs a number of seconds\n${USAGE}`);
      out.timeLimit = s;
    } else if (a === '--suite' || a === '--suites') out.suites = list<Suite>(value(), SUITES, a);
    else if (a === '--impl' || a === '--impls') out.impls = list<Impl>(value(), IMPLS, a);
    else if (a === '--filter') out.filter = (value() ?? '').split(',').filter(Boolean);
    else if (a === '--help' || a === '-h') throw Object.assign(new Error(USAGE), { help: true });
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (out.compare && out.table) throw new Error(`--table and --compare: one at a time\n${USAGE}`);
  return out;
}

/** The options as the bench page's URL query. */
export function toQuery(o: CliOptions): string {
  const q = new URLSearchParams();
  if (o.quick) q.set('quick', '1');
  q.set('suites', o.suites.join(','));
  q.set('impls', o.impls.join(','));
  if (o.filter.length) q.set('filter', o.filter.join(','));
  if (o.timeLimit) q.set('timeLimit', String(o.timeLimit));
  return q.toString();
}

export function fromQuery(search: string): Omit<BenchOptions, 'environment'> {
  const q = new URLSearchParams(search);
  return {
    quick: q.get('quick') === '1',
    suites: q.get('suites') ? list<Suite>(q.get('suites')!, SUITES, 'suites') : [...SUITES],
    impls: q.get('impls') ? list<Impl>(q.get('impls')!, IMPLS, 'impls') : [...IMPLS],
    filter: (q.get('filter') ?? '').split(',').filter(Boolean),
    timeLimit: Number(q.get('timeLimit') ?? 0) || 0,
  };
}
