// Matmul WGSL: the templates (shaders/matmul*.wgsl) with each tile shape's unrolled accumulate, multiply and store written in.

import params from '../../shaders/matmul-params.wgsl?raw';
import template from '../../shaders/matmul.wgsl?raw';
import vec4Template from '../../shaders/matmul-vec4.wgsl?raw';
import { tileKey, tileM, tileN, type MatmulTile } from './matmul-tiles';
import { ShadergradError } from '../errors';

const modules = new Map<string, string>();

/** One line per (row, vec4-column) of an invocation's block: the unrolled accumulators, multiplies and stores. */
function perElement<T = string>(t: MatmulTile, f: (i: number, j: number) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < t.rows; i++) for (let j = 0; j < t.cols4; j++) out.push(f(i, j));
  return out;
}

/** The tile's shape as WGSL constants, plus a template's own. */
function tileConstants(t: MatmulTile, extra: Record<string, number>): string {
  const values = { WG_X: t.wgX, WG_Y: t.wgY, TILE_M: tileM(t), TILE_N: tileN(t), TILE_K: t.tileK, PAD: t.pad ?? 1, ...extra };
  return Object.entries(values)
    .map(([name, value]) => `const ${name} = ${value}u;`)
    .join('\n');
}

/**
 * The templates' k-range tokens: a split-K layer's range, or the whole K — which leaves exactly the
 * code of a kernel without split-K (the driver's schedule of the large tile moved by 11% when the
 * unsplit kernel computed a layer range of one).
 */
function withKRange(code: string, layered: boolean): string {
  const r = layered
    ? { range: 'let ks = set_layer(wid.z);', begin: 'ks.x', end: 'ks.y', limit: 'layer_k_end', base: 'layer_c_base + ', base4: 'layer_c_base / 4u + ' }
    : { range: '', begin: '0u', end: 'K', limit: 'params.K', base: '', base4: '' };
  const tokens: Array<[string, string]> = [
    ['//@ k-range', r.range],
    ['K_BEGIN', r.begin],
    ['K_END', r.end],
    ['K_LIMIT', r.limit],
    ['C_BASE4 + ', r.base4],
    ['C_BASE + ', r.base],
  ];
  return tokens.reduce((out, [token, value]) => out.split(token).join(value), code);
}

/** WGSL for one tile shape (layered: the split-K variant): the template with its unrolled accumulate, multiply and store. */
export function matmulSource(t: MatmulTile, ta = false, tb = false, layered = false): string {
  // Blocked vec4 staging is shaped by the transposes: one module each.
  const key = `${t.staging === 'vec4' && t.block ? `${tileKey(t)}:${ta}${tb}` : tileKey(t)}:${layered}`;
  let code = modules.get(key);
  if (code) return code;
  if (t.rows % 4 !== 0) throw new ShadergradError(null, `matmul tile rows must be a multiple of 4, got ${t.rows}`);
  const groups = t.kGroups ?? 1;
  if (!(Number.isInteger(groups) && groups >= 1)) throw new ShadergradError(null, `matmul tile kGroups must be a whole number ≥ 1, got ${groups}`);
  if (groups > 1 && (t.staging ?? 'workgroup') !== 'workgroup') {
    throw new ShadergradError(null, `matmul tile kGroups ${groups} needs the 'workgroup' staging, got '${t.staging}'`);
  }
  if (t.staging === 'vec4') {
    code = withKRange(`${params}\n${vec4Source(t, ta, tb)}`, layered);
    modules.set(key, code);
    return code;
  }
  const lines = (f: (i: number, j: number) => string) => perElement(t, f).join('\n  ');
  const constants = tileConstants(t, { ROWS: t.rows, KG: groups });
  const accumulators = lines((i, j) => `var acc${i}_${j} = vec4f();`);
  const multiply = [
    ...Array.from({ length: t.cols4 }, (_, j) => `let b${j} = Bs[k][lid.x + ${j * t.wgX}u];`),
    ...Array.from({ length: t.rows / 4 }, (_, i) => `let a${i} = As[k][lid.y * ${t.rows / 4}u + ${i}u];`),
    lines((i, j) => `acc${i}_${j} += a${i >> 2}.${'xyzw'[i % 4]} * b${j};`),
  ].join('\n      ');
  const store = lines((i, j) => {
    const row = `row0 + lid.y * ${t.rows}u + ${i}u`;
    const col = `col0 + (lid.x + ${j * t.wgX}u) * 4u`;
    return `{ let r = ${row}; let c = ${col}; store_c(r, c, acc${i}_${j}.x); store_c(r, c + 1u, acc${i}_${j}.y); store_c(r, c + 2u, acc${i}_${j}.z); store_c(r, c + 3u, acc${i}_${j}.w); }`;
  });
  // `grouped`: the same multiply on group g's tiles; groups 1… hand their sums to group 0.
  const groupedMultiply = multiply.replaceAll('As[', 'Ag[g][').replaceAll('Bs[', 'Bg[g][');
  const sumAt = (i: number, j: number) => `[lid.y * ${t.rows}u + ${i}u][lid.x + ${j * t.wgX}u]`;
  const groupedStash = lines((i, j) => `group_sums[g - 1u]${sumAt(i, j)} = acc${i}_${j};`);
  const groupedSum = lines((i, j) => `acc${i}_${j} += group_sums[h]${sumAt(i, j)};`);
  // `direct`: invocation columns interleave by vec4 (col0 + 4·WG_X·j), so neighbouring invocations
  // read neighbouring addresses; per-row and per-column offsets are clamped once, outside the k-loop.
  const colOf = (j: number) => `col0 + ${4 * t.wgX * j}u`;
  const directSetup = [
    ...Array.from({ length: t.rows }, (_, i) => `let ra${i} = select(min(row0 + ${i}u, M - 1u) * K, min(row0 + ${i}u, M - 1u), TRANS_A);`),
    ...Array.from({ length: t.cols4 * 4 }, (_, c) => {
      const col = `min(${colOf(c >> 2)} + ${c & 3}u, N - 1u)`;
      return `let cb${c} = select(${col}, ${col} * K, TRANS_B);`;
    }),
  ].join('\n  ');
  const directMultiply = [
    'let ka = select(k, k * M, TRANS_A);',
    'let kb = select(k * N, k, TRANS_B);',
    ...Array.from({ length: t.rows }, (_, i) => `let a${i} = A[ra${i} + ka];`),
    ...Array.from({ length: t.cols4 }, (_, j) => `let b${j} = vec4f(B[cb${4 * j} + kb], B[cb${4 * j + 1} + kb], B[cb${4 * j + 2} + kb], B[cb${4 * j + 3} + kb]);`),
    lines((i, j) => `acc${i}_${j} += a${i} * b${j};`),
  ].join('\n    ');
  const directStore = lines((i, j) => {
    const c = colOf(j);
    return `{ let r = row0 + ${i}u; let c = ${c}; store_c(r, c, acc${i}_${j}.x); store_c(r, c + 1u, acc${i}_${j}.y); store_c(r, c + 2u, acc${i}_${j}.z); store_c(r, c + 3u, acc${i}_${j}.w); }`;
  });
  const parts: Array<[string, string]> = [
    ['//@ constants', constants],
    ['//@ accumulators', accumulators],
    ['//@ multiply', multiply],
    ['//@ store', store],
    ['//@ grouped-multiply', groupedMultiply],
    ['//@ grouped-stash', groupedStash],
    ['//@ grouped-sum', groupedSum],
    ['//@ direct-setup', directSetup],
    ['//@ direct-multiply', directMultiply],
    ['//@ direct-store', directStore],
  ];
  code = parts.reduce((out, [marker, text]) => out.split(marker).join(text), `${params}\n${template}`);
  code = withKRange(code, layered);
  modules.set(key, code);
  return code;
}

/** WGSL of the vec4 kernel for one tile shape: prefetch, stash, multiply and store unrolled. */
function vec4Source(t: MatmulTile, ta: boolean, tb: boolean): string {
  const wg = t.wgX * t.wgY;
  const stages = t.stages ?? 2;
  const warpX = t.warpX ?? t.wgX;
  // Items of each tile (vec4s, or 4×4 blocks when blocked), and loads per invocation (the last one
  // guarded where they do not divide evenly).
  const blockA = !!t.block && !ta;
  const blockB = !!t.block && tb;
  const aItems = (tileM(t) * t.tileK) / (blockA ? 16 : 4);
  const bItems = (tileN(t) * t.tileK) / (blockB ? 16 : 4);
  const aLoads = Math.ceil(aItems / wg);
  const bLoads = Math.ceil(bItems / wg);
  const problems = [
    t.tileK % 4 !== 0 && `tileK ${t.tileK} is not a multiple of 4`,
    t.halves && stages !== 2 && `halves needs 2 stages`,
    t.halves && t.unroll !== undefined && t.unroll !== t.tileK && `halves needs the whole k-tile unrolled`,
    t.unroll !== undefined && !(Number.isInteger(t.unroll) && t.unroll >= 1 && t.tileK % t.unroll === 0) && `unroll ${t.unroll} does not divide tileK ${t.tileK}`,
    (32 % warpX !== 0 || t.wgX % warpX !== 0 || t.wgY % (32 / warpX) !== 0) && `warpX ${warpX} does not tile a ${t.wgX}×${t.wgY} workgroup in 32s`,
    t.ahead && t.unroll !== undefined && t.unroll !== t.tileK && `ahead needs the whole k-tile unrolled`,
    t.pairStages && stages !== 2 && `pairStages needs 2 stages`,
    t.swizzle !== undefined && !(Number.isInteger(t.swizzle) && t.swizzle >= 0 && t.swizzle <= 65535) && `swizzle ${t.swizzle} is not a whole number of tile-rows from 0 to 65535`,
  ].filter(Boolean);
  if (problems.length) throw new ShadergradError(null, `matmul vec4 tile: ${problems.join('; ')}`);
  const rows4 = t.rows / 4;
  const lines = (f: (i: number, j: number) => string) => perElement(t, f);
  const constants = tileConstants(t, { STAGES: stages });
  // The invocation's place in the WG_X×WG_Y grid; with warpX < WG_X each warp of 32 is a warpX×(32/warpX) block.
  const warpY = 32 / warpX;
  const thread =
    warpX === t.wgX
      ? 'let tx = tid % WG_X;\n  let ty = tid / WG_X;'
      : [
          `let warp = tid / 32u;`,
          `let lane = tid % 32u;`,
          `let tx = lane % ${warpX}u + (warp % ${t.wgX / warpX}u) * ${warpX}u;`,
          `let ty = lane / ${warpX}u + (warp / ${t.wgX / warpX}u) * ${warpY}u;`,
        ].join('\n  ');
  // The workgroup's output tile: by workgroup id, or (swizzle) in bands of `band` tile-rows walked
  // column by column, so the workgroups running at once read fewer panels of A and B.
  const band = t.swizzle ?? 0;
  const origin = band
    ? [
        `let tiles_x = (params.N + TILE_N - 1u) / TILE_N;`,
        `let tiles_y = (params.M + TILE_M - 1u) / TILE_M;`,
        `let linear = wid.y * tiles_x + wid.x;`,
        `let band = linear / (${band}u * tiles_x);`,
        `let in_band = linear % (${band}u * tiles_x);`,
        `let band_rows = min(tiles_y - band * ${band}u, ${band}u);`,
        `let row0 = (band * ${band}u + in_band % band_rows) * TILE_M;`,
        `let col0 = (in_band / band_rows) * TILE_N;`,
      ]
    : ['let row0 = wid.y * TILE_M;', 'let col0 = wid.x * TILE_N;'];
  const accumulators = lines((i, j) => `var acc${i}_${j} = vec4f();`).join('\n  ');
  const guarded = (total: number, l: number, statement: string) =>
    (l + 1) * wg <= total ? statement : `if (tid + ${l * wg}u < ${total}u) { ${statement} }`;
  // The tile's loads, A's then B's: each fetched into a register (pa…, pb…) and stashed from it.
  const loads = [
    ...Array.from({ length: aLoads }, (_, l) => ({ reg: `pa${l}`, type: blockA ? 'mat4x4f' : 'vec4f', total: aItems, l, load: `load_a${blockA ? '_block' : ''}(tid + ${l * wg}u, row0, K0, check_a)`, stash: `stash_a${blockA ? '_block' : ''}(STAGE, tid + ${l * wg}u, pa${l})` })),
    ...Array.from({ length: bLoads }, (_, l) => ({ reg: `pb${l}`, type: blockB ? 'mat4x4f' : 'vec4f', total: bItems, l, load: `load_b${blockB ? '_block' : ''}(tid + ${l * wg}u, K0, col0, check_b)`, stash: `stash_b${blockB ? '_block' : ''}(STAGE, tid + ${l * wg}u, pb${l})` })),
  ];
  type Load = (typeof loads)[number];
  const fetch = (group: Load[], k0: string, decl = false) =>
    group.map((x) => (decl ? `var ${x.reg} = ${x.type}(); ` : '') + guarded(x.total, x.l, `${x.reg} = ${x.load.replace('K0', k0)};`));
  const stash = (group: Load[], stage: string) => group.map((x) => guarded(x.total, x.l, `${x.stash.replace('STAGE', stage)};`));
  // halves: the first half of the loads during the first half of the multiply, the rest during the second.
  const half = Math.ceil(loads.length / 2);
  const [early, late] = t.halves ? [loads.slice(0, half), loads.slice(half)] : [loads, []];
  const madd = (acc: string, a: string, b: string) => (t.fma ?? true ? `${acc} = fma(vec4f(${a}), ${b}, ${acc});` : `${acc} += ${a} * ${b};`);
  // The whole k-tile unrolled (constant offsets), or a loop over passes of `unroll` k-steps.
  const unroll = t.unroll ?? t.tileK;
  const kAt = (k: number) => (unroll === t.tileK ? `${k}u` : `kp + ${k}u`);
  // A k-step's operands from workgroup memory (with `ahead`, named after their step: read one step
  // early) and its multiply-adds, row by row (or column by column).
  const a = (i: number, k: number) => (t.ahead ? `a${i}k${k}` : `a${i}`);
  const b = (j: number, k: number) => (t.ahead ? `b${j}k${k}` : `b${j}`);
  const reads = (k: number) => [
    ...Array.from({ length: t.cols4 }, (_, j) => `let ${b(j, k)} = Bs[s][${kAt(k)}][tx + ${j * t.wgX}u];`),
    ...Array.from({ length: rows4 }, (_, i) => `let ${a(i, k)} = As[s][${kAt(k)}][ty * ${rows4}u + ${i}u];`),
  ];
  const order: Array<[number, number]> = t.byColumn
    ? Array.from({ length: t.cols4 }, (_, j) => Array.from({ length: t.rows }, (_, i): [number, number] => [i, j])).flat()
    : perElement(t, (i, j): [number, number] => [i, j]);
  const madds = (k: number) => order.map(([i, j]) => madd(`acc${i}_${j}`, `${a(i >> 2, k)}.${'xyzw'[i % 4]}`, b(j, k)));
  const indent = (block: string[]) => block.map((l) => `  ${l}`);
  const steps: string[][] = Array.from({ length: unroll }, (_, k) =>
    t.ahead ? [...(k === 0 ? reads(0) : []), ...(k + 1 < unroll ? reads(k + 1) : []), ...madds(k)] : ['{', ...indent(reads(k)), ...indent(madds(k)), '}'],
  );
  let multiply = unroll === t.tileK ? steps.flat() : [`for (var kp = 0u; kp < TILE_K; kp += ${unroll}u) {`, ...indent(steps.flat()), '}'];
  if (t.halves) {
    // Halfway through the multiply (the other stage is free: everyone passed the last barrier), the
    // early half goes to workgroup memory and the late half is fetched.
    const at = steps.slice(0, t.tileK / 2).flat().length;
    multiply = [...multiply.slice(0, at), 'if (more) {', ...indent(stash(early, '1u - s')), ...indent(fetch(late, 'next')), '}', ...multiply.slice(at)];
  }
  // One stage: every invocation must be done reading before the next tile overwrites it.
  const stashNext =
    stages === 2
      ? ['if (more) {', ...indent(stash(t.halves ? late : loads, '1u - s')), '}', 'workgroupBarrier();']
      : ['workgroupBarrier();', 'if (more) {', ...indent(stash(loads, '0u')), '}', 'workgroupBarrier();'];
  const store = lines((i, j) => `store_c4(row0 + ty * ${t.rows}u + ${i}u, col0 / 4u + tx + ${j * t.wgX}u, acc${i}_${j});`);
  const code = vec4Template
    .replace('//@ constants', constants)
    .replace('//@ thread', thread)
    .replace('//@ origin', origin.join('\n  '))
    .replace('//@ accumulators', accumulators)
    .replace('//@ fetch-first', fetch(loads, 'K_BEGIN', true).join('\n  '))
    .replace('//@ stash-first', stash(loads, '0u').join('\n  '))
    .replace('//@ fetch-next', fetch(early, 'next').join('\n      '))
    .replace('//@ multiply', multiply.join('\n    '))
    .replace('//@ stash-next', stashNext.join('\n    '))
    .replace('//@ store', store.join('\n  '));
  return t.pairStages ? withStagePairs(code) : code;
}

/**
 * `pairStages`: the two-stage k-loop written out once per stage, so every workgroup-memory index
 * of the multiply and the stash is a constant (the stage no longer alternates at run time).
 */
function withStagePairs(code: string): string {
  const head = 'var s = 0u;\n  for (var k0 = K_BEGIN; k0 < K_END; k0 += TILE_K) {\n';
  const tail = '    s = (s + 1u) % STAGES;\n  }\n';
  const start = code.indexOf(head);
  const end = code.indexOf(tail, start);
  if (start < 0 || end < 0) throw new ShadergradError(null, 'matmul-vec4.wgsl: the k-loop pairStages rewrites was not found');
  const body = code.slice(start + head.length, end).replaceAll('\n    ', '\n      ');
  const pairs = [
    'for (var kt = K_BEGIN; kt < K_END; kt += 2u * TILE_K) {',
    '    {',
    '      const s = 0u;',
    '      let k0 = kt;',
    `  ${body}    }`,
    '    if (kt + TILE_K < K_END) {',
    '      const s = 1u;',
    '      let k0 = kt + TILE_K;',
    `  ${body}    }`,
    '  }',
    '',
  ].join('\n');
  return code.slice(0, start) + pairs + code.slice(end + tail.length);
}
