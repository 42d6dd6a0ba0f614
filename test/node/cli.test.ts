// The `shadergrad train` CLI, run as users run it: the built bin on the shipped Fashion-MNIST sample.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/index';
import { applyResume, checkFlags, DEFAULTS, parseFlags } from '../../src/cli/args';
import { encodeSolverMeta } from '../../src/solver/checkpoint-meta';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const SAMPLE = join(ROOT, 'src', 'data', 'fashion-mnist-sample');
let work: string;

/** Newest modification time under a directory. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: 'utf8', timeout: 600_000 });
  const lines = result.stdout.trim().split('\n');
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, last: lines[lines.length - 1]! };
}

beforeAll(() => {
  // Build the bin unless dist is newer than every source file.
  const sources = Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'shaders')));
  if (!existsSync(CLI) || statSync(CLI).mtimeMs < sources) {
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  }
  work = mkdtempSync(join(tmpdir(), 'shadergrad-cli-'));
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('shadergrad train (CLI)', () => {
  it('--help lists the flags; a bad flag exits 2 with the usage', () => {
    const help = run('train', '--help');
    expect(help.code).toBe(0);
    for (const flag of ['--data', '--hidden', '--batchnorm', '--dropout', '--update', '--lr', '--lr-decay', '--reg', '--epochs', '--batch', '--seed', '--out']) {
      expect(help.stdout).toContain(flag);
    }
    const bad = run('train', '--bogus');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--bogus'[\s\S]*Usage: shadergrad train/);
    const badValue = run('train', '--dropout', '1.5');
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('--dropout "1.5" is not valid');
  });

  it('refuses bad flags before loading data or training: exit 2, one clear line (no doubled prefix)', () => {
    writeFileSync(join(work, 'a-file'), 'x');
    const cases: Array<[string[], RegExp]> = [
      [['--update', 'adagrad'], /^shadergrad: --update adagrad is not one of sgd, sgdMomentum, sgdNesterovMomentum, rmsprop, adam/],
      [['--lr', 'Infinity'], /^shadergrad: --lr "Infinity" is not valid/],
      [['--hidden', '16,'], /^shadergrad: --hidden "16," is not valid: a comma-separated list/],
      [['--limit', '5'], /^shadergrad: --limit "5" is not valid/],
      [['--seed', '4294967296'], /^shadergrad: --seed "4294967296" is not valid/],
      [['--batchnorm', '--no-batchnorm'], /^shadergrad: --batchnorm and --no-batchnorm contradict each other/],
      [['--out', join(work, 'a-file')], /^shadergrad: --out .*a-file: cannot write there \(EEXIST\)/],
      [['--resume', join(work, 'a-file')], /^shadergrad: --resume .*a-file: /],
      // `--resume=~/…`: the shell leaves a tilde after `=` alone; the CLI expands it.
      [['--resume=~/shadergrad-no-such-checkpoint.safetensors'], new RegExp(`^shadergrad: --resume ${join(homedir(), 'shadergrad-no-such-checkpoint').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)],
      // Empty values (`--resume "$UNSET"`) and repeated flags would silently mean the default, or the last one.
      [['--resume='], /^shadergrad: --resume needs a value \(it was given empty\)/],
      [['--out', ''], /^shadergrad: --out needs a value \(it was given empty\)/],
      [['--epochs', '1', '--epochs', '2'], /^shadergrad: --epochs given more than once/],
      // Numbers as a person writes them, and what f32 holds (1e40 is Infinity on the GPU, 1e-50 is 0).
      [['--epochs', '0x1'], /^shadergrad: --epochs "0x1" is not valid/],
      [['--lr', '1e40'], /^shadergrad: --lr "1e40" is not valid/],
      [['--lr', '1e-50'], /^shadergrad: --lr "1e-50" is not valid/],
      [['--reg', '1e40'], /^shadergrad: --reg "1e40" is not valid/],
      [['--batch', '100000000'], /^shadergrad: --batch 100000000: more than the \d+ training images/],
    ];
    for (const [args, pattern] of cases) {
      const r = run('train', '--data', SAMPLE, ...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(pattern);
      expect(r.stdout, `${args.join(' ')} trained or loaded data`).toBe('');
    }
  });

  it('trains on the sample and writes a checkpoint, history.json and an SVG plot; the last line is the JSON summary; --resume continues', () => {
    const out = join(work, 'run');
    const args = ['--data', SAMPLE, '--limit', '1500', '--hidden', '48', '--batch', '100', '--epochs', '2', '--quiet'];
    const r = run('train', ...args, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.last);
    expect(Object.keys(summary).sort()).toEqual(['adapter', 'epochs', 'samplesPerSec', 'seconds', 'testAcc', 'trainAcc', 'valAcc']);
    expect(summary.epochs).toBe(2);
    expect(summary.testAcc).toBeGreaterThan(0.5);
    expect(summary.samplesPerSec).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/epoch 1\/2: loss [\d.]+, train acc [\d.]+, val acc [\d.]+/);
    expect(r.stdout).toMatch(/test accuracy 0\.\d+/);
    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'));
    expect(history.lossHistory.length).toBe(2 * Math.floor(1350 / 100));
    expect(history.valAccHistory.length).toBe(3);
    expect(readFileSync(join(out, 'training.svg'), 'utf8')).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*<path d="M/);
    const checkpoint = decodeSafetensors(readFileSync(join(out, 'model.safetensors')));
    expect(Object.keys(checkpoint.tensors)).toEqual(expect.arrayContaining(['W1', 'b1', 'gamma1', 'bn1.runningMean', 'optim.m.W1', 'W2']));
    expect(checkpoint.metadata.epoch).toBe('2');
    // It names its data and counts its training images (1500 - 150 held out): a resume on other data is refused.
    expect(checkpoint.metadata.data).toContain('fashion-mnist-sample');
    expect(checkpoint.metadata.trainSamples).toBe('1350');
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // Resume from the checkpoint for a third epoch.
    const resumed = run('train', ...args.map((a) => (a === '2' ? '3' : a)), '--resume', join(out, 'model.safetensors'), '--out', join(work, 'resumed'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resumed from');
    expect(JSON.parse(resumed.last).epochs).toBe(3);
    // Flags that contradict the checkpoint are refused before anything runs.
    const conflicting = run('train', '--data', SAMPLE, '--limit', '1500', '--hidden', '32', '--batch', '50', '--resume', join(out, 'model.safetensors'), '--out', join(work, 'conflict'));
    expect(conflicting.code).toBe(2);
    expect(conflicting.stderr).toMatch(/these flags contradict the checkpoint: --hidden 32 \(the checkpoint has 48\); --batch 50 \(the checkpoint has 100\)/);
    const reseeded = run('train', '--data', SAMPLE, '--limit', '1500', '--epochs', '3', '--seed', '7', '--resume', join(out, 'model.safetensors'), '--out', join(work, 'reseeded'));
    expect(reseeded.code).toBe(2);
    expect(reseeded.stderr).toMatch(/these flags contradict the checkpoint: --seed \(the checkpoint carries its random generators' states\)/);
    // A finished schedule is not resumed into nothing (exit 0, no training): it says how to go on.
    const finished = run('train', '--data', SAMPLE, '--limit', '1500', '--resume', join(out, 'model.safetensors'), '--out', join(work, 'finished'));
    expect(finished.code).toBe(2);
    expect(finished.stderr).toMatch(/the checkpoint finished its 2 epochs; --epochs N \(N > 2\) trains it further/);
    const fewer = run('train', '--data', SAMPLE, '--limit', '1500', '--epochs', '1', '--resume', join(out, 'model.safetensors'), '--out', join(work, 'fewer'));
    expect(fewer.code).toBe(2);
    expect(fewer.stderr).toMatch(/--epochs 1: the checkpoint has already trained 2 epochs; give more to train it further/);
    const otherData = run('train', '--data', SAMPLE, '--limit', '1400', '--epochs', '3', '--quiet', '--resume', join(out, 'model.safetensors'), '--out', join(work, 'other-data'));
    expect(otherData.code).toBe(2);
    expect(otherData.stderr).toMatch(/--resume .*model\.safetensors: the checkpoint was trained on 1350 training images \(.*fashion-mnist-sample\), this run has 1260 \(.*fashion-mnist-sample\): use the same --data, --limit and --val/);
  }, 600_000);

  it('Ctrl-C stops at the next loss report and writes the checkpoint, history and plot (exit 130); the checkpoint is on disk after every epoch', async () => {
    const out = join(work, 'interrupted');
    const child = spawn(process.execPath, [CLI, 'train', '--data', SAMPLE, '--limit', '1500', '--hidden', '16', '--batch', '50', '--epochs', '30', '--quiet', '--out', out], { cwd: work });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        // After epoch 2 has ended, its checkpoint was written before epoch 3 began.
        if (/epoch 2\/30:/.test(stdout) && !child.killed) {
          const atEpoch2 = decodeSafetensors(readFileSync(join(out, 'model.safetensors'))).metadata.epoch;
          expect(['1', '2']).toContain(atEpoch2);
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/stopping within 20 iterations \(at the next loss report\)/);
    expect(stderr).toMatch(/--resume .*model\.safetensors continues/);
    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'));
    expect(history.interrupted).toMatch(/stopped by Ctrl-C at iteration \d+ of 810/);
    const saved = decodeSafetensors(readFileSync(join(out, 'model.safetensors'))).metadata;
    expect(Number(saved.iteration)).toBeGreaterThanOrEqual(54);
    expect(readFileSync(join(out, 'training.svg'), 'utf8')).toMatch(/<svg/);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!).epochs).toBeGreaterThanOrEqual(2);
  }, 600_000);

  it('a second Ctrl-C quits at once: killed by SIGINT (the shell\'s 130), without waiting for the results', async () => {
    const out = join(work, 'quit');
    const child = spawn(process.execPath, [CLI, 'train', '--data', SAMPLE, '--limit', '1500', '--hidden', '16', '--batch', '50', '--epochs', '30', '--quiet', '--out', out], { cwd: work });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
    child.stdout.on('data', (chunk: Buffer) => {
      if (/^start:/m.test(chunk.toString()) && !child.killed) {
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGINT'), 50);
      }
    });
    const [code, signal] = await ended;
    expect([code, signal], stderr).toEqual([null, 'SIGINT']);
    expect(stderr).toMatch(/Ctrl-C again to quit at once/);
  }, 600_000);

  it('data that does not load leaves no empty --out behind; results that cannot be written are still reported, and nothing in --out is replaced', () => {
    const missing = run('train', '--data', join(work, 'no-such-data'), '--quiet', '--out', join(work, 'never'));
    expect(missing.code).toBe(1);
    expect(existsSync(join(work, 'never')), 'an empty --out left behind').toBe(false);
    // history.json is a directory: the results cannot all be written, so none replaces what is there.
    const out = join(work, 'blocked');
    mkdirSync(join(out, 'history.json'), { recursive: true });
    const r = run('train', '--data', SAMPLE, '--limit', '600', '--hidden', '16', '--epochs', '1', '--quiet', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^shadergrad: writeFiles: writing .*history\.json failed \(EISDIR: a directory is in the way\)/m);
    expect(r.stdout).toMatch(/the results were NOT written/);
    expect(Object.keys(JSON.parse(r.last)).sort()).toEqual(['adapter', 'epochs', 'samplesPerSec', 'seconds', 'testAcc', 'trainAcc', 'valAcc']);
    expect(readdirSync(out)).toEqual(['history.json']);
  }, 600_000);

  it('Ctrl-C while the data loads exits 130 and leaves no empty --out behind', async (context) => {
    // The full set takes long enough to load to interrupt it; the sample loads in a blink.
    const full = '/usr/share/datasets/fashion-mnist';
    context.skip(!existsSync(join(full, 'train-images-idx3-ubyte.gz')), "needs Debian's dataset-fashion-mnist");
    const out = join(work, 'interrupted-early');
    const child = spawn(process.execPath, [CLI, 'train', '--data', full, '--quiet', '--out', out], { cwd: work });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // As soon as --out exists (checked and made before the data is read), interrupt.
    while (!existsSync(out)) await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(existsSync(out), 'an empty --out left behind').toBe(false);
  }, 120_000);

  it('shadergrad without a command, or with an unknown one, is a usage error: exit 2', () => {
    for (const args of [[], ['trian']]) {
      const r = run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/Usage: shadergrad train/);
    }
  });

  it('a loss that overflows stops training with the iteration named and a non-zero exit', () => {
    const r = run('train', '--data', SAMPLE, '--limit', '600', '--hidden', '16', '--update', 'sgd', '--lr', '10', '--reg', '1000', '--epochs', '2', '--quiet', '--out', join(work, 'nan'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the loss became (NaN|Infinity) at iteration \d+/);
    expect(JSON.parse(r.last).epochs).toBeGreaterThanOrEqual(0);
  }, 600_000);
});

// The flag checks themselves (src/cli/args.ts), without spawning the bin: each bound's last accepted value and first refused one.
describe('shadergrad train flags (args.ts)', () => {
  const check = (...argv: string[]) => {
    const { values, given } = parseFlags(argv);
    return checkFlags(values, given);
  };

  it('defaults when no flag is given', () => {
    const config = check();
    expect({ ...config, out: undefined }).toEqual({
      hiddenDims: DEFAULTS.hidden.split(',').map(Number),
      updateRule: DEFAULTS.update,
      batchnorm: DEFAULTS.batchnorm,
      dropout: DEFAULTS.dropout,
      lr: DEFAULTS.lr,
      lrDecay: DEFAULTS.lrDecay,
      reg: DEFAULTS.reg,
      epochs: DEFAULTS.epochs,
      batch: DEFAULTS.batch,
      valWanted: DEFAULTS.val,
      valGiven: false,
      limit: undefined,
      seed: DEFAULTS.seed,
      data: undefined,
      out: undefined,
      quiet: false,
      resume: null,
    });
  });

  it('each range: the last value allowed is accepted, the first past it refused with the flag named', () => {
    const accepted: Array<[string[], (c: ReturnType<typeof check>) => unknown, unknown]> = [
      [['--dropout', '0.99'], (c) => c.dropout, 0.99],
      [['--dropout', '0'], (c) => c.dropout, 0],
      [['--reg', '0'], (c) => c.reg, 0],
      [['--lr-decay', '1e6'], (c) => c.lrDecay, 1e6],
      [['--val', '1'], (c) => c.valWanted, 1],
      [['--limit', '10'], (c) => c.limit, 10],
      [['--hidden', '65536,1'], (c) => c.hiddenDims, [65536, 1]],
      [['--seed', '4294967295'], (c) => c.seed, 4294967295],
      [['--no-batchnorm'], (c) => c.batchnorm, false],
    ];
    for (const [argv, get, want] of accepted) expect(get(check(...argv)), argv.join(' ')).toEqual(want);
    const refused: Array<[string[], RegExp]> = [
      [['--dropout', '1'], /^--dropout "1" is not valid/],
      [['--reg=-1'], /^--reg "-1" is not valid/],
      [['--lr-decay', '1.1e6'], /^--lr-decay "1.1e6" is not valid/],
      [['--lr-decay', '0'], /^--lr-decay "0" is not valid/],
      [['--val', '0'], /^--val "0" is not valid/],
      [['--limit', '9'], /^--limit "9" is not valid/],
      [['--hidden', '65537'], /^--hidden "65537" is not valid/],
      [['--batch', '1.5'], /^--batch "1.5" is not valid/],
      [['--epochs', '0'], /^--epochs "0" is not valid/],
      [['--update', ''], /^--update needs a value/],
    ];
    for (const [argv, pattern] of refused) expect(() => check(...argv), argv.join(' ')).toThrow(pattern);
  });

  it('--resume: the checkpoint\'s model, rule, batch, dropout, reg, decay and epochs are used; flags that contradict them are named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadergrad-args-'));
    try {
      const path = join(dir, 'model.safetensors');
      const meta = encodeSolverMeta({
        model: { inputDim: 784, hiddenDims: [48], numClasses: 10, batchnorm: false, dropout: 0.35, reg: 0.0125 },
        updateRule: 'rmsprop',
        optimConfig: { learningRate: 1e-3 },
        batchSize: 50,
        numEpochs: 4,
        lrDecay: 0.5,
        trainSamples: 1000,
        epoch: 1,
        iteration: 20,
        bestValAcc: 0.5,
        lossHistory: [],
        trainAccHistory: [],
        valAccHistory: [],
        rng: [1, 2, 3, 4],
        dropoutRng: null,
      });
      writeFileSync(path, encodeSafetensors({}, meta as unknown as Record<string, string>));
      const resume = (...argv: string[]) => {
        const { values, given } = parseFlags([...argv, '--resume', path]);
        return applyResume(checkFlags(values, given), values);
      };
      const config = await resume();
      expect([config.hiddenDims, config.batchnorm, config.updateRule, config.batch, config.dropout, config.reg, config.lrDecay, config.epochs]).toEqual([[48], false, 'rmsprop', 50, 0.35, 0.0125, 0.5, 4]);
      // Flags that may change do.
      const changed = await resume('--dropout', '0.1', '--reg', '0.2', '--lr-decay', '0.9', '--epochs', '6');
      expect([changed.dropout, changed.reg, changed.lrDecay, changed.epochs]).toEqual([0.1, 0.2, 0.9, 6]);
      await expect(resume('--update', 'adam')).rejects.toThrow(/these flags contradict the checkpoint: --update adam \(the checkpoint has rmsprop\)$/);
      await expect(resume('--batchnorm')).rejects.toThrow(/these flags contradict the checkpoint: --batchnorm \(the checkpoint has no batchnorm\)$/);
      await expect(resume('--lr', '0.1')).rejects.toThrow(/these flags contradict the checkpoint: --lr \(the checkpoint carries its optimizer state and current learning rate\)$/);
      // Flags that agree with the checkpoint are no conflict.
      expect((await resume('--update', 'rmsprop', '--batch', '50', '--hidden', '48', '--no-batchnorm')).updateRule).toBe('rmsprop');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
