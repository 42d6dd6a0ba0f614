// Vite plugin for `npm start` and `vite preview`: serves the full Fashion-MNIST files at /datasets/fashion-mnist/<file> when this machine has them.

import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Connect, Plugin } from 'vite';
// The library's own lookup (a module without relative imports, which a config file can load).
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_FILE_NAMES, hasFashionMnistFiles, nodeFashionMnistCacheDir } from './src/data/fashion-mnist-dirs.ts';

/** Where the page looks for the files (relative to the page: `./datasets/fashion-mnist/<file>`). */
export const FASHION_MNIST_ROUTE = '/datasets/fashion-mnist/';
/** Environment variable naming a directory with the four files; it comes first. */
export const FASHION_MNIST_DIR_ENV = 'SHADERGRAD_FASHION_MNIST_DIR';

/** The only names served: the four files, gzipped or not. */
export const FASHION_MNIST_FILES: readonly string[] = FASHION_MNIST_FILE_NAMES.flatMap((name) => [`${name}.gz`, name]);

/** The candidate directories in order: $SHADERGRAD_FASHION_MNIST_DIR, Debian's package, the `npm run data` cache. */
async function candidates(): Promise<string[]> {
  const env = process.env[FASHION_MNIST_DIR_ENV];
  return [env, DEBIAN_FASHION_MNIST_DIR, await nodeFashionMnistCacheDir()].filter((dir): dir is string => !!dir);
}

/** The first candidate directory that holds all four files (each gzipped or not), or null: looked up on every request. */
export async function fashionMnistServedDir(): Promise<string | null> {
  for (const dir of await candidates()) if (await hasFashionMnistFiles(dir)) return dir;
  return null;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function refuse(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(`${text}\n`);
}

/**
 * Everything under /datasets/ is answered here (never by the SPA fallback's index.html): one of the
 * four names, exactly as listed (no decoding, no other path is ever joined to the directory), from
 * the directory found at request time; 404 for anything else or when no directory has the files.
 */
async function serve(req: IncomingMessage, res: ServerResponse, next: Connect.NextFunction): Promise<void> {
  const path = (req.url ?? '').split(/[?#]/, 1)[0]!;
  if (!path.startsWith('/datasets/')) return next();
  const name = path.startsWith(FASHION_MNIST_ROUTE) ? path.slice(FASHION_MNIST_ROUTE.length) : '';
  if (!FASHION_MNIST_FILES.includes(name)) return refuse(res, 404, `not found: ${path} (served here: ${FASHION_MNIST_ROUTE}{${FASHION_MNIST_FILES.join(',')}})`);
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, `${req.method} is not allowed`, { Allow: 'GET, HEAD' });
  const dir = await fashionMnistServedDir();
  const file = dir ? join(dir, name) : null;
  if (!file || !isFile(file)) {
    return refuse(res, 404, dir ? `${name} is not in ${dir}` : `no Fashion-MNIST directory here: install Debian's dataset-fashion-mnist, run \`npm run data\` or set ${FASHION_MNIST_DIR_ENV}`);
  }
  const stat = statSync(file);
  const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  const headers = {
    'Content-Type': name.endsWith('.gz') ? 'application/gzip' : 'application/octet-stream',
    'Cache-Control': 'no-cache',
    ETag: etag,
    'Last-Modified': stat.mtime.toUTCString(),
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': String(stat.size) });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', (error) => res.destroy(error));
  stream.pipe(res);
}

export function fashionMnistFiles(): Plugin {
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    serve(req, res, next).catch((error: unknown) => {
      if (res.headersSent) res.destroy(error as Error);
      else refuse(res, 500, `could not read the file: ${(error as Error).message}`);
    });
  };
  const announce = async (info: (message: string) => void) => {
    const dir = await fashionMnistServedDir();
    info(dir ? `Fashion-MNIST: serving ${dir} at ${FASHION_MNIST_ROUTE}` : `Fashion-MNIST: no full set here (the page uses its shipped sample); see ${FASHION_MNIST_DIR_ENV} in README.md`);
  };
  return {
    name: 'shadergrad-fashion-mnist-files',
    // Added before vite's own middlewares, so the SPA fallback never answers for /datasets/.
    configureServer(server) {
      server.middlewares.use(middleware);
      void announce((message) => server.config.logger.info(message));
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
      void announce((message) => server.config.logger.info(message));
    },
  };
}
