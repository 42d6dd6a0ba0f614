// Builds the package (`npm run build`) and uses it by name through package.json `exports`, as its users do: the bundle in Node on Dawn, the declarations with TypeScript.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Inside the package's own folder, so `import 'shadergrad'` self-references it through `exports`. */
const WORK = join(ROOT, 'test-artifacts', 'package');

function run(command: string, args: string[], timeout: number): string {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout });
  const output = `${result.stdout}${result.stderr}`;
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}\n${output}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}:\n${output}`);
  return result.stdout;
}

beforeAll(() => {
  run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], 240_000);
}, 240_000);

it('npm run build writes the library, its declarations and the page', () => {
  for (const file of ['dist/shadergrad.js', 'dist/types/index.d.ts', 'dist/page/index.html']) {
    expect(existsSync(join(ROOT, file)), file).toBe(true);
  }
});

it("import('shadergrad') exports Engine, Tensor and layers, and affineForward runs on the built bundle (Node, Dawn)", () => {
  const script = `
    const { Engine, Tensor, layers } = await import('shadergrad');
    const engine = await Engine.create();
    const x = engine.tensor([1, 2, 3, 4], [2, 2]);
    const w = engine.tensor([1, 0, -1, 0, 1, 2], [2, 3]);
    const b = engine.tensor([0.5, -0.5, 0], [3]);
    const { out } = layers.affineForward(x, w, b);
    const values = Array.from(await out.read());
    engine.destroy();
    console.log(JSON.stringify({
      exports: [typeof Engine, typeof Tensor, typeof layers, typeof layers.affineForward],
      isTensor: out instanceof Tensor, shape: out.shape, values,
    }));`;
  const stdout = run(process.execPath, ['--input-type=module', '-e', script], 120_000);
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
  expect(result.exports).toEqual(['function', 'function', 'object', 'function']);
  expect(result.isTensor).toBe(true);
  expect(result.shape).toEqual([2, 3]);
  // [[1, 2], [3, 4]] · [[1, 0, -1], [0, 1, 2]] + [0.5, -0.5, 0]
  expect(result.values).toEqual([1.5, 1.5, 3, 3.5, 3.5, 5]);
}, 120_000);

it('the declarations type-check for nodenext and bundler consumers that have neither @types/node nor @webgpu/types', () => {
  mkdirSync(WORK, { recursive: true });
  writeFileSync(
    join(WORK, 'consumer.ts'),
    `// A user of the built package's types.
import { Engine, Tensor, layers } from 'shadergrad';
export async function firstOutput(): Promise<number> {
  const engine: Engine = await Engine.create();
  const x: Tensor = engine.tensor([1, 2], [1, 2]);
  const { out } = layers.affineForward(x, engine.tensor([1, 2], [2, 1]), engine.tensor([0], [1]));
  const values: Float32Array | Int32Array = await out.read();
  return values[0]!;
}
`,
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [module, moduleResolution] of [['nodenext', 'nodenext'], ['esnext', 'bundler']]) {
    const config = join(WORK, `tsconfig.${moduleResolution}.json`);
    const compilerOptions = { module, moduleResolution, target: 'es2022', lib: ['es2022', 'dom'], types: [], strict: true, noEmit: true };
    writeFileSync(config, JSON.stringify({ compilerOptions, files: ['consumer.ts'] }, null, 2));
    run(process.execPath, [tsc, '-p', config], 120_000);
  }
}, 240_000);
