// Vite plugin for both builds: files referenced as `new URL('./file', import.meta.url)` are emitted as real asset files, never inlined as base64.

import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Plugin } from 'vite';

/** `new URL('./…' or '../…', import.meta.url)` with a literal path. */
const URL_RE = /\bnew\s+URL\s*\(\s*(['"])(\.{1,2}\/[^'"`$]+)\1\s*,\s*import\.meta\.url\s*\)/g;
/** Scripts and styles stay vite's business (workers, modules). */
const CODE_RE = /\.(?:[cm]?[jt]sx?|css|html|wgsl)$/;

/**
 * Vite inlines such files below `build.assetsInlineLimit` (4 KB by default), and a library build
 * inlines them all whatever their size (the shipped Fashion-MNIST sample became a 4 MB chunk of
 * base64). This plugin runs before vite's own, emits each file and puts Rollup's
 * `import.meta.ROLLUP_FILE_URL_<id>` in the reference's place, which its resolveFileUrl renders as
 * `new URL('./<emitted file>', import.meta.url)` relative to the chunk: it works in the browser
 * and, through file: URLs, in Node. The dev server is untouched (it serves the source files).
 */
export function assetFiles(): Plugin {
  const emitted = new Set<string>();
  return {
    name: 'shadergrad-asset-files',
    apply: 'build',
    enforce: 'pre',
    // The URL object the source wrote, relative to the chunk whatever the `base` (vite's own answer
    // would be base + file name: '/x.gz' in a library build, not a valid URL).
    resolveFileUrl({ referenceId, relativePath }) {
      if (!emitted.has(referenceId)) return null;
      return `new URL(${JSON.stringify(`./${relativePath}`)}, import.meta.url)`;
    },
    transform(code, id) {
      if (!/\.[cm]?[jt]s$/.test(id) || id.includes('/node_modules/') || !code.includes('import.meta.url')) return null;
      let changed = false;
      const out = code.replace(URL_RE, (whole, _quote: string, path: string) => {
        if (CODE_RE.test(path)) return whole;
        const file = resolve(dirname(id), path);
        let isFile = false;
        try {
          isFile = statSync(file).isFile();
        } catch {
          // A file that is not there stays a runtime URL, as vite would leave it.
        }
        if (!isFile) return whole;
        this.addWatchFile(file);
        const ref = this.emitFile({ type: 'asset', name: basename(file), originalFileName: file, source: readFileSync(file) });
        emitted.add(ref);
        changed = true;
        return `import.meta.ROLLUP_FILE_URL_${ref}`;
      });
      return changed ? { code: out, map: null } : null;
    },
  };
}
