// `npm run data` (src/data/fetch.mjs) against a local HTTP server: downloads, checksums, skips, clear failures, nothing half-written.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEBIAN = '/usr/share/datasets/fashion-mnist';
const NAMES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const HAVE_DEBIAN = NAMES.every((n) => existsSync(join(DEBIAN, n)));

let server: Server;
let base = '';
let scratch = '';
/** Requests the server answered, by path. */
const requests: string[] = [];
/** What the server serves: `/good/<name>` the real files, `/corrupt/`, `/garbled/` and `/missing/` variants. */
const routes = new Map<string, Uint8Array>();

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'src/data/fetch.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, SHADERGRAD_DATA_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function noTemporaryFiles(dir: string): void {
  expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
}

describe.skipIf(!HAVE_DEBIAN)(`data: npm run data (${HAVE_DEBIAN ? 'the real files served locally' : `skipped: Debian's dataset-fashion-mnist is not in ${DEBIAN}`})`, () => {
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'shadergrad-fetch-'));
    for (const name of NAMES) {
      const real = readFileSync(join(DEBIAN, name));
      routes.set(`/good/${name}`, real);
      routes.set(`/garbled/${name}`, real);
      routes.set(`/corrupt/${name}`, real);
      if (name !== 't10k-images-idx3-ubyte.gz') routes.set(`/missing/${name}`, real);
    }
    // Valid gzip of wrong data: one label changed.
    const labels = gunzipSync(readFileSync(join(DEBIAN, 't10k-labels-idx1-ubyte.gz')));
    labels[100] = (labels[100]! + 1) % 10;
    routes.set('/corrupt/t10k-labels-idx1-ubyte.gz', gzipSync(labels));
    // Cut short in transit.
    const short = readFileSync(join(DEBIAN, 'train-labels-idx1-ubyte.gz'));
    routes.set('/garbled/train-labels-idx1-ubyte.gz', short.subarray(0, short.length - 100));
    // A mirror that serves the files decompressed (as a transparent Content-Encoding would leave them).
    for (const name of NAMES) routes.set(`/plain/${name}`, gunzipSync(readFileSync(join(DEBIAN, name))));
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const body = routes.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('downloads the four files, checks them, and skips them the next time', async () => {
    const out = join(scratch, 'good');
    const first = await run(['--out', out, '--url', `${base}/good`]);
    expect(first.code, first.stderr).toBe(0);
    for (const name of NAMES) {
      expect(first.stdout).toMatch(new RegExp(`${name}: .* MB in .* s, checksum ok`));
      expect(Buffer.compare(readFileSync(join(out, name)), readFileSync(join(DEBIAN, name)))).toBe(0);
    }
    expect(readdirSync(out).sort()).toEqual([...NAMES].sort());
    const served = requests.length;
    const again = await run(['--out', out, '--url', `${base}/good/`]);
    expect(again.code, again.stderr).toBe(0);
    for (const name of NAMES) expect(again.stdout).toContain(`${name}: already present and correct`);
    expect(requests.length).toBe(served);
  });

  it('fails clearly on a checksum mismatch (which file, expected vs got), keeping the good files and nothing half-written', async () => {
    const out = join(scratch, 'corrupt');
    const result = await run(['--out', out, '--url', `${base}/corrupt/`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /shadergrad data: t10k-labels-idx1-ubyte.gz: .*\/corrupt\/t10k-labels-idx1-ubyte.gz: checksum mismatch: expected sha256 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34 \(10008 bytes decompressed\), got sha256 [0-9a-f]{64} \(10008 bytes\)/,
    );
    expect(result.stderr).toMatch(/1 of 4 files failed: t10k-labels-idx1-ubyte.gz/);
    expect(readdirSync(out).sort()).toEqual(NAMES.filter((n) => n !== 't10k-labels-idx1-ubyte.gz').sort());
    noTemporaryFiles(out);
  });

  it('fails clearly on a truncated download and on a missing file (HTTP 404)', async () => {
    const out = join(scratch, 'broken');
    const garbled = await run(['--out', out, '--url', `${base}/garbled/`]);
    expect(garbled.code).toBe(1);
    expect(garbled.stderr).toMatch(/train-labels-idx1-ubyte.gz: .*not valid gzip data .*expected sha256 bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9/);
    expect(existsSync(join(out, 'train-labels-idx1-ubyte.gz'))).toBe(false);
    const missing = await run(['--out', join(scratch, 'missing'), '--url', `${base}/missing/`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/t10k-images-idx3-ubyte.gz: fetching .*\/missing\/t10k-images-idx3-ubyte.gz failed: HTTP 404/);
    noTemporaryFiles(out);
    noTemporaryFiles(join(scratch, 'missing'));
  });

  it('takes its URL from SHADERGRAD_DATA_URL and its folder from XDG_CACHE_HOME by default, and replaces a wrong file', async () => {
    const cache = join(scratch, 'xdg');
    const out = join(cache, 'shadergrad', 'fashion-mnist');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'train-labels-idx1-ubyte.gz'), gzipSync(Buffer.from('stale')));
    const result = await run([], { SHADERGRAD_DATA_URL: `${base}/good/`, XDG_CACHE_HOME: cache });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`from ${base}/good/ into ${out}`);
    expect(result.stdout).toMatch(/train-labels-idx1-ubyte.gz: present but wrong \(checksum mismatch.*\); downloading it again/);
    for (const name of NAMES) expect(Buffer.compare(readFileSync(join(out, name)), readFileSync(join(DEBIAN, name)))).toBe(0);
    const bad = await run(['--out']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--out needs a value/);
    const notUrl = await run(['--out', join(scratch, 'x'), '--url', 'notaurl']);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toMatch(/^shadergrad data: --url notaurl\/ is not a URL/);
    writeFileSync(join(scratch, 'a-file'), 'x');
    const notDir = await run(['--out', join(scratch, 'a-file'), '--url', `${base}/good/`]);
    expect(notDir.code).toBe(1);
    expect(notDir.stderr).toMatch(/^shadergrad data: cannot create .*a-file \(EEXIST\)\n$/);
  });

  it('a file served decompressed replaces a wrong copy under the other name (the loader reads .gz first)', async () => {
    const out = join(scratch, 'plain');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 't10k-labels-idx1-ubyte.gz'), gzipSync(Buffer.from('stale')));
    const result = await run(['--out', out, '--url', `${base}/plain/`]);
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(NAMES.map((n) => n.replace(/\.gz$/, '')).sort());
  });
});
