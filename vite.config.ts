// Vite for the page: `npm start` serves index.html (and the test pages under test/browser); `npm run build` builds it into dist/page.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { assetFiles } from './vite.assets.ts';
import { fashionMnistFiles } from './vite.datasets.ts';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: dist/page works from any path (`npx vite preview`, a static host, a subfolder).
  base: './',
  publicDir: false,
  // The shipped Fashion-MNIST sample as files next to the page's scripts, none inlined; and the full
  // set at /datasets/fashion-mnist/ when this machine has it (dev server and preview).
  plugins: [assetFiles(), fashionMnistFiles()],
  // The page's one npm dependency, uPlot, ships ESM (the engine's `import('webgpu')` runs only in Node),
  // so there is nothing to pre-bundle: never scan or fetch dependencies.
  optimizeDeps: { noDiscovery: true, include: [] },
  build: {
    outDir: 'dist/page',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  preview: { open: false },
});
