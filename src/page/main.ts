// The page's script: finds a WebGPU adapter through the public API and runs one tiny layer on it.

import { Engine, layers } from '../index';

function show(testId: string, text: string): void {
  document.querySelector(`[data-testid="${testId}"]`)!.textContent = text;
}

async function main(): Promise<void> {
  const engine = await Engine.create();
  const { vendor, architecture, description, device } = engine.adapterInfo;
  show('adapter', [vendor, architecture, device, description].filter(Boolean).join(' · ') || 'unnamed adapter');
  // out = x·w + b for x = [[1, 2]], w = [[1, 0, -1], [2, 1, 0]], b = [0.5, 0.5, 0.5]: [5.5, 2.5, -0.5].
  const x = engine.tensor([1, 2], [1, 2]);
  const w = engine.tensor([1, 0, -1, 2, 1, 0], [2, 3]);
  const b = engine.tensor([0.5, 0.5, 0.5], [3]);
  const { out } = layers.affineForward(x, w, b);
  const values = Array.from(await out.read());
  const expected = [5.5, 2.5, -0.5];
  if (values.some((v, i) => v !== expected[i])) {
    throw new Error(`affineForward gave [${values.join(', ')}], expected [${expected.join(', ')}]`);
  }
  show('check', `affineForward on the GPU: [${values.join(', ')}] ✓`);
  engine.destroy();
  show('status', 'idle');
}

main().catch((error: unknown) => {
  const adapter = document.querySelector('[data-testid="adapter"]')!;
  if (adapter.textContent === '…') adapter.textContent = 'none';
  show('error', error instanceof Error ? error.message : String(error));
  show('status', 'error');
});
