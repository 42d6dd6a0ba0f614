// Runs every shared case (test/cases: engine, layers, data, optim, models, solver) in Node on Dawn (the `webgpu` package; SwiftShader where there is no GPU).

import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/index';
import { suites } from '../cases/index';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

for (const [family, cases] of Object.entries(suites)) {
  describe(`${family} (Node, Dawn)`, () => {
    for (const c of cases) it(c.name, () => c.run(engine), c.timeout);
  });
}
