// `npm run data`: downloads the full Fashion-MNIST (four IDX files) into a cache directory, checking each against known checksums.
//
//   npm run data -- [--out DIR] [--url BASE] [--force]
//
// --out   where to put the files (default ~/.cache/shadergrad/fashion-mnist, or $XDG_CACHE_HOME/shadergrad/fashion-mnist);
//         datasets.fashionMnist() looks there by default
// --url   base URL of the four files (default $SHADERGRAD_DATA_URL, else the dataset's canonical download)
// --force download even files that are already present and correct
//
// Checksums are of the DECOMPRESSED data (SHA-256, plus MD5 as published by the dataset's users):
// re-compressed copies of the same data (Debian's package `dataset-fashion-mnist` has some) are
// as good as the originals, whose .gz MD5s are listed too.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const DEFAULT_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/** Fashion-MNIST, © 2017 Zalando SE, MIT licence (https://github.com/zalandoresearch/fashion-mnist). */
export const FILES = {
  'train-images-idx3-ubyte.gz': {
    gzMd5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    rawBytes: 47040016,
    rawMd5: 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
    rawSha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  },
  'train-labels-idx1-ubyte.gz': {
    gzMd5: '25c81989df183df01b3e8a0aad5dffbe',
    rawBytes: 60008,
    rawMd5: '9018921c3c673c538a1fc5bad174d6f9',
    rawSha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  },
  't10k-images-idx3-ubyte.gz': {
    gzMd5: 'bef4ecab320f06d8554ea6380940ec79',
    rawBytes: 7840016,
    rawMd5: '8181f5470baa50b63fa0f6fddb340f0a',
    rawSha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  },
  't10k-labels-idx1-ubyte.gz': {
    gzMd5: 'bb300cfdad3c16e7a12a480ee83cd310',
    rawBytes: 10008,
    rawMd5: '15d484375f8d13e6eb1aabb0c3f46965',
    rawSha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
  },
};

const hash = (algorithm, bytes) => createHash(algorithm).update(bytes).digest('hex');

/** Checks a file's bytes (gz or not): null if they hold the expected data, else what is wrong. */
export function verify(name, bytes) {
  const known = FILES[name];
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gzip && hash('md5', bytes) === known.gzMd5) return null;
  let raw = bytes;
  if (gzip) {
    try {
      raw = gunzipSync(bytes);
    } catch (error) {
      return `not valid gzip data (${error.message}): expected sha256 ${known.rawSha256} of the decompressed data, got ${bytes.length} bytes that do not decompress`;
    }
  }
  const got = hash('sha256', raw);
  if (got === known.rawSha256) return null;
  return `checksum mismatch: expected sha256 ${known.rawSha256} (${known.rawBytes} bytes decompressed), got sha256 ${got} (${raw.length} bytes)`;
}

/** Writes through a temporary name (fsync, rename): the destination is never half-written. */
async function writeAtomic(path, bytes) {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let handle;
  try {
    handle = await open(tmp, 'wx');
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (error) {
    await handle?.close().catch(() => {});
    await rm(tmp, { force: true });
    throw error;
  }
}

function usage() {
  return 'usage: npm run data -- [--out DIR] [--url BASE] [--force]';
}

export function parseArgs(argv, env = process.env) {
  const options = {
    out: join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'shadergrad', 'fashion-mnist'),
    url: env.SHADERGRAD_DATA_URL || DEFAULT_URL,
    force: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value. ${usage()}`);
      return v;
    };
    if (flag === '--out') options.out = value();
    else if (flag === '--url') options.url = value();
    else if (flag === '--force') options.force = true;
    else if (flag === '--help' || flag === '-h') options.help = true;
    else throw new Error(`unknown argument ${arg}. ${usage()}`);
  }
  // `--out=~/x`: the shell does not expand a tilde after `=`.
  options.out = resolve(options.out === '~' || options.out.startsWith('~/') ? join(homedir(), options.out.slice(2)) : options.out);
  if (!options.url.endsWith('/')) options.url += '/';
  let parsed;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new Error(`--url ${options.url} is not a URL (expected http:// or https://…). ${usage()}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`--url ${options.url}: only http and https are fetched. ${usage()}`);
  return options;
}

async function download(url) {
  let response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(30 * 60_000) });
  } catch (error) {
    throw new Error(`fetching ${url} failed: ${error.cause?.message ?? error.message}`);
  }
  if (!response.ok) throw new Error(`fetching ${url} failed: HTTP ${response.status} ${response.statusText}`);
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new Error(`fetching ${url} failed while reading its body: ${error.cause?.message ?? error.message}`);
  }
}

/** Downloads what is missing; returns the names that failed (each reported on stderr). */
export async function fetchAll({ out, url, force }, log = console.log, warn = console.error) {
  try {
    mkdirSync(out, { recursive: true });
  } catch (error) {
    throw new Error(`cannot create ${out} (${error.code ?? error.message})`);
  }
  const failed = [];
  for (const name of Object.keys(FILES)) {
    const path = join(out, name);
    const present = [path, path.replace(/\.gz$/, '')].find((p) => existsSync(p));
    if (!force && present) {
      const problem = verify(name, readFileSync(present));
      if (!problem) {
        log(`${name}: already present and correct`);
        continue;
      }
      log(`${name}: present but wrong (${problem}); downloading it again`);
    }
    const source = new URL(name, url).href;
    try {
      const started = Date.now();
      const bytes = await download(source);
      const problem = verify(name, bytes);
      if (problem) throw new Error(`${source}: ${problem}`);
      // Served decompressed (a transparent Content-Encoding): keep it under the uncompressed name.
      const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
      const target = gzip ? path : path.replace(/\.gz$/, '');
      await writeAtomic(target, bytes);
      // The other name may hold a wrong copy, which the loader would read first (it tries .gz first).
      const other = gzip ? path.replace(/\.gz$/, '') : path;
      if (existsSync(other)) rmSync(other, { force: true });
      log(`${name}: ${(bytes.length / 1e6).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s, checksum ok`);
    } catch (error) {
      warn(`shadergrad data: ${name}: ${error.message}`);
      failed.push(name);
    }
  }
  return failed;
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`shadergrad data: ${error.message}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(usage());
    return;
  }
  console.log(`Fashion-MNIST (© Zalando SE, MIT licence) from ${options.url} into ${options.out}`);
  let failed;
  try {
    failed = await fetchAll(options);
  } catch (error) {
    console.error(`shadergrad data: ${error.message}`);
    process.exit(1);
  }
  if (failed.length) {
    console.error(`shadergrad data: ${failed.length} of ${Object.keys(FILES).length} files failed: ${failed.join(', ')} (nothing half-written was left)`);
    process.exit(1);
  }
  console.log(`done: ${options.out} holds the full dataset`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
