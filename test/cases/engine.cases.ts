// Engine cases: tensors round-trip, bad input is refused before GPU work, buffers are reused.

import { layers } from '../../src/index';
import { matmul } from '../../src/kernels/matmul';
import { type TestCase, expectThrows, expectTrue } from '../harness/check';

export const cases: TestCase[] = [
  {
    name: 'a tensor a captured step writes, freed after the capture, is not handed out again until the step is disposed',
    async run(engine) {
      const x = engine.tensor(new Float32Array(1000).fill(2), [10, 100]);
      const out = engine.empty([10, 100]); // made before the capture
      const step = engine.capture(() => engine.copy(x, out)); // every replay writes `out`
      out.dispose(); // freed after it: the step still writes there
      const stranger = engine.tensor(new Float32Array(1000).fill(7), [10, 100]); // the same size
      step.replay();
      await engine.sync();
      expectTrue((await stranger.read()).every((v) => v === 7), "a replay overwrote another tensor's buffer");
      const created = engine.stats().buffersCreated;
      step.dispose();
      const again = engine.empty([10, 100]); // now the freed buffer is free to reuse
      expectTrue(engine.stats().buffersCreated === created, 'the buffer came back to the pool with the step');
      [x, stranger, again].forEach((t) => t.dispose());
    },
  },
  {
    name: 'tensors round-trip f32 and i32 data, with shape, item() and reshape views',
    async run(engine) {
      const f = engine.tensor([1.5, -2, 3.25, 4, 5, 6], [2, 3]);
      expectTrue(f.shape.join() === '2,3' && f.dtype === 'f32', `f32 tensor: ${f}`);
      const data = await f.read();
      expectTrue(data instanceof Float32Array && Array.from(data).join() === '1.5,-2,3.25,4,5,6', `f32 read: ${data}`);
      const i = engine.tensor(new Int32Array([7, -1, 2147483647]));
      const idata = await i.read();
      expectTrue(idata instanceof Int32Array && Array.from(idata).join() === '7,-1,2147483647', `i32 read: ${idata}`);
      expectTrue((await engine.tensor([42], [1]).item()) === 42, 'item()');
      const v = f.reshape([3, 2]);
      expectTrue(v.shape.join() === '3,2' && (await v.read())[5] === 6, 'reshape view');
      f.dispose();
      expectTrue((await v.read())[0] === 1.5, 'a view outlives its source');
      v.dispose();
      const z = engine.zeros([5, 3]);
      expectTrue((await z.read()).every((x) => x === 0), 'zeros');
    },
  },
  {
    name: 'bad input throws an Error naming the op and the shapes, before any GPU work',
    async run(engine) {
      const before = engine.stats().dispatches;
      const x = engine.tensor(new Float32Array(2 * 3 * 4), [2, 3, 4]);
      const w = engine.tensor(new Float32Array(10 * 5), [10, 5]);
      const b = engine.tensor(new Float32Array(5), [5]);
      await expectThrows(() => layers.affineForward(x, w, b), /affineForward.*\[2, 3, 4\].*\[10, 5\]/, 'affine shape mismatch');
      const b4 = engine.tensor(new Float32Array(4), [4]);
      const w12 = engine.tensor(new Float32Array(12 * 5), [12, 5]);
      await expectThrows(() => layers.affineForward(x, w12, b4), /affineForward.*b \[4\]/, 'affine bias mismatch');
      await expectThrows(() => matmul(engine, w, w), /inner dimensions differ.*10×5.*10×5/, 'matmul inner mismatch');
      const labels = engine.tensor(new Int32Array([1, 2]));
      await expectThrows(() => layers.reluForward(labels), /reluForward.*i32/, 'relu on i32');
      await expectThrows(() => engine.tensor([1, 2, 3], [2, 2]), /3 elements.*\[2, 2\].*4/, 'data/shape mismatch');
      await expectThrows(() => engine.tensor([1, 2], [2, -1]), /non-negative integers/, 'negative dimension');
      await expectThrows(() => engine.tensor([1.5], [1], 'i32'), /non-integer 1.5/, 'non-integer i32');
      expectTrue(engine.stats().dispatches === before, 'no dispatch was recorded by the rejected calls');
    },
  },
  {
    name: 'a lost device surfaces as an Error on the next call, not a hang',
    async run() {
      const { Engine } = await import('../../src/engine/engine');
      const own = await Engine.create();
      const t = own.tensor([1, 2, 3]);
      own.device.destroy(); // what a driver reset does to a device
      await own.device.lost;
      await new Promise((r) => setTimeout(r, 0));
      await expectThrows(() => t.read(), /GPU device was lost/, 'read after loss');
      await expectThrows(() => own.tensor([1]), /GPU device was lost/, 'new tensor after loss');
      await expectThrows(() => layers.reluForward(t), /GPU device was lost/, 'op after loss');
    },
  },
  {
    name: 'a disposed tensor cannot be read or used',
    async run(engine) {
      const t = engine.tensor([1, 2, 3]);
      t.dispose();
      t.dispose(); // twice is harmless
      await expectThrows(() => t.read(), /read: a tensor of shape \[3\] was used after dispose/, 'read after dispose');
      await expectThrows(() => layers.reluForward(t), /after dispose/, 'op on a disposed tensor');
    },
  },
  {
    name: 'allocating and freeing the same shapes repeatedly reuses buffers (bytesAllocated does not grow)',
    async run(engine) {
      const x = engine.tensor(new Float32Array(64 * 100).fill(1), [64, 100]);
      const w = engine.tensor(new Float32Array(100 * 30).fill(0.5), [100, 30]);
      const b = engine.tensor(new Float32Array(30), [30]);
      const step = () => {
        const { out, cache } = layers.affineReluForward(x, w, b);
        const g = layers.affineReluBackward(out, cache);
        out.dispose();
        g.dx.dispose();
        g.dw.dispose();
        g.db.dispose();
      };
      step();
      await engine.sync();
      const first = engine.stats();
      for (let i = 0; i < 20; i++) step();
      await engine.sync();
      const after = engine.stats();
      expectTrue(after.bytesAllocated === first.bytesAllocated, `bytesAllocated grew: ${first.bytesAllocated} → ${after.bytesAllocated}`);
      expectTrue(after.buffersCreated === first.buffersCreated, `buffers created: ${first.buffersCreated} → ${after.buffersCreated}`);
      expectTrue(after.liveBuffers === first.liveBuffers, `live buffers: ${first.liveBuffers} → ${after.liveBuffers}`);
      expectTrue(after.pipelines === first.pipelines, 'no new pipelines');
      [x, w, b].forEach((t) => t.dispose());
    },
  },
];
