// Vite dev server for the benchmark page (bench/index.html): the repository root served as is, the peers' npm packages pre-bundled.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  publicDir: false,
  // Its own cache: the page's and the tests' dev servers pre-bundle nothing and must not share this one.
  cacheDir: 'node_modules/.vite-bench',
  // tfjs imports CommonJS packages (seedrandom, long): pre-bundle the peers so the browser gets ES modules.
  optimizeDeps: {
    noDiscovery: true,
    include: [
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-core/dist/register_all_gradients',
      '@tensorflow/tfjs-backend-webgpu',
      '@jax-js/jax',
    ],
  },
  // Cross-origin isolation: performance.now() ticks in 5 µs instead of 100 µs (the CPU encode time per replay is ~0.1 ms).
  server: {
    host: '127.0.0.1',
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
});
