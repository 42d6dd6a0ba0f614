// Runs a TypeScript benchmark module in Node (Dawn) through vite's module runner: node bench/node.mjs bench/train-step.ts
import { createServer, createServerModuleRunner } from 'vite';

const [file = 'bench/train-step.ts', ...rest] = process.argv.slice(2);
const server = await createServer({ configFile: false, server: { middlewareMode: true, hmr: false }, appType: 'custom', logLevel: 'error' });
const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
try {
  const mod = await runner.import(`/${file}`);
  await mod.main(rest);
} finally {
  await runner.close();
  await server.close();
}
