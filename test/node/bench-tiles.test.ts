// The matmul tile sweep's candidates (bench/matmul-tiles.ts) compile: WGSL generated and validated by Tint in every layout, so a GPU session's sweep does not stop on one (SwiftShader's 32 KiB of workgroup memory cannot run the large ones).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import preamble from '../../shaders/preamble.wgsl?raw';
import { CANDIDATES, baselineOf } from '../../bench/matmul-tiles';
import { Engine } from '../../src/index';
import { matmulSource } from '../../src/kernels/matmul-source';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

describe('bench --tiles candidates', () => {
  it('every candidate is valid WGSL in NN, NT, TN and TT, with and without split-K layers', async () => {
    const failures: string[] = [];
    for (const [name, tile] of Object.entries(CANDIDATES)) {
      for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        for (const layered of [false, true]) {
          const where = `${name} transA=${ta} transB=${tb}${layered ? ' split-K' : ''}`;
          let code: string;
          try {
            code = matmulSource(tile, ta, tb, layered);
          } catch (error) {
            failures.push(`${where}: ${(error as Error).message}`);
            continue;
          }
          const module = engine.device.createShaderModule({ code: `${preamble}\n${code}`, label: where });
          const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
          if (errors.length) failures.push(`${where}: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(Object.keys(CANDIDATES).length).toBeGreaterThan(10);
  }, 120_000);

  it('each option is set beside its baseline: the name without its last option words, default labels ignored', () => {
    const names = Object.keys(CANDIDATES);
    expect(baselineOf('vec4 128x128 k24 s2 pad0 ahead', names)).toBe('vec4 128x128 k24 s2 pad0 (large default)');
    expect(baselineOf('vec4 128x128 k24 s2 pad0 ahead swizzle8', names)).toBe('vec4 128x128 k24 s2 pad0 ahead');
    expect(baselineOf('vec4 64x64 k16 s2 block swizzle8', names)).toBe('vec4 64x64 k16 s2 block (small default)');
    expect(baselineOf('vec4 128x256 k16 s2 pad0 pairs', names)).toBe('vec4 128x256 k16 s2 pad0');
    expect(baselineOf('vec4 128x128 k24 s2 pad0 (large default)', names)).toBeUndefined();
    // Every round-5 option has its baseline in the same sweep.
    const options = ['ahead', 'bycol', 'pairs', 'swizzle8', 'swizzle16'];
    for (const name of names.filter((n) => options.some((o) => n.split(' ').includes(o)))) expect(baselineOf(name, names), name).toBeDefined();
  });
});
