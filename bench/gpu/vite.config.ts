// Vite build of the Node benchmark bundle: bench/gpu/dist/bench.mjs, self-contained except the `webgpu` package (Dawn) and Node's built-ins.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { assetFiles } from '../../vite.assets.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root: ROOT,
  publicDir: false,
  logLevel: 'warn',
  // The shipped Fashion-MNIST sample next to the bundle (bench/gpu/dist/assets/), where sampleUrl finds it.
  plugins: [assetFiles()],
  // Bundle every dependency as ESM (tfjs-core's CommonJS build lacks the gradients that
  // register_all_gradients adds, and mixing its two builds gives two engines).
  ssr: { noExternal: true, target: 'node' },
  resolve: { mainFields: ['module', 'jsnext:main', 'main'] },
  build: {
    ssr: 'bench/gpu/entry.ts',
    outDir: 'bench/gpu/dist',
    emptyOutDir: true,
    // SSR builds drop emitted assets unless told to keep them (the sample above).
    ssrEmitAssets: true,
    target: 'node20',
    minify: false,
    sourcemap: false,
    reportCompressedSize: false,
    rolldownOptions: {
      external: ['webgpu', /^node:/],
      output: {
        entryFileNames: 'bench.mjs',
        codeSplitting: false,
        // tfjs-core's Node platform calls require('util') when it loads.
        banner: "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);",
      },
    },
  },
});
