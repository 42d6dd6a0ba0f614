// Engine cases: tensors round-trip, bad input is refused before GPU work, buffers are reused.

import { DeviceError, ShadergradError, datasets, errorMessage, errorReason, layers, optim } from '../../src/index';
import { axpyInPlace } from '../../src/kernels/elementwise';
import { batchnormGrads } from '../../src/kernels/batchnorm';
import { gatherRows } from '../../src/kernels/gather';
import { grid1d } from '../../src/kernels/kernel';
import { matmul } from '../../src/kernels/matmul';
import { courseRelError, relativeError } from '../../src/reference/gradcheck';
import { type TestCase, expectClose, expectCloseOrNaN, expectThrows, expectTrue } from '../harness/check';

export const cases: TestCase[] = [
  {
    name: "errors: a refused call throws a ShadergradError whose op and reason make its message; errorReason and errorMessage take any thrown value",
    async run(engine) {
      const labels = engine.tensor(new Int32Array([1, 2, 3]));
      let caught: unknown;
      try {
        layers.reluForward(labels);
      } catch (error) {
        caught = error;
      }
      expectTrue(caught instanceof ShadergradError, `reluForward on i32 threw ${String(caught)}, not a ShadergradError`);
      const e = caught as ShadergradError;
      expectTrue(e.name === 'ShadergradError' && e.op === 'reluForward' && /i32/.test(e.reason), `op ${e.op}, reason "${e.reason}"`);
      expectTrue(e.message === `shadergrad: reluForward: ${e.reason}`, `message "${e.message}" is not the prefix, op and reason`);
      expectTrue(errorReason(e) === e.reason && errorMessage(e) === `reluForward: ${e.reason}`, `errorReason "${errorReason(e)}", errorMessage "${errorMessage(e)}"`);
      // No one op to blame: the message has no op part, and errorMessage is the reason.
      expectTrue(!(e instanceof DeviceError), 'bad input reads as a failure of the GPU');
      const engineWide = new ShadergradError(null, 'this Engine was destroyed');
      expectTrue(engineWide.message === 'shadergrad: this Engine was destroyed' && errorMessage(engineWide) === 'this Engine was destroyed', engineWide.message);
      // The cause is kept, for wrappers.
      const wrapped = new ShadergradError('load', 'failed', { cause: e });
      expectTrue(wrapped.cause === e, 'the cause was dropped');
      // Anything else that is thrown: its message, or its text.
      for (const [thrown, text] of [[new TypeError('plain'), 'plain'], ['a string', 'a string'], [42, '42'], [undefined, 'undefined']] as const) {
        expectTrue(errorReason(thrown) === text && errorMessage(thrown) === text, `errorReason/errorMessage of ${String(thrown)}`);
      }
      labels.dispose();
    },
  },
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
      await expectThrows(() => engine.tensor([2 ** 31], [1], 'i32'), /i32 data holds 2147483648 at index 0, outside/, 'i32 overflow');
      await expectThrows(() => engine.tensor([1, 2], [2], 'f16' as never), /tensor: dtype must be 'f32' or 'i32', got "f16"/, 'unknown dtype');
      await expectThrows(() => engine.tensor(null as never), /tensor: data must be an array/, 'no data');
      await expectThrows(() => engine.tensor(['a', 'b'] as never, [2]), /tensor: f32 data holds "a" at index 0, not a number/, 'strings as f32');
      await expectThrows(() => engine.tensor([1, null] as never, [2]), /tensor: f32 data holds null at index 1, not a number/, 'null as f32');
      // Larger than the device binds to a kernel: refused by shape, no buffer made (it would be invalid).
      const { liveTensors, bytesAllocated } = engine.stats();
      const tooMany = Math.floor(engine.limits.maxStorageBufferBindingSize / 4) + 1;
      await expectThrows(() => engine.zeros([tooMany]), new RegExp(`zeros: a tensor of shape \\[${tooMany}\\] takes \\d+ MiB, more than this device binds to a kernel \\(maxStorageBufferBindingSize: \\d+ MiB\\)`), 'too large');
      await expectThrows(() => engine.tensorUnorm8(new Uint8Array(0), [tooMany * 4]), /tensorUnorm8: data has 0 bytes/, 'unorm8 data missing');
      expectTrue(engine.stats().liveTensors === liveTensors && engine.stats().bytesAllocated === bytesAllocated, 'a refused allocation left a tensor or bytes behind');
      expectTrue(engine.stats().dispatches === before, 'no dispatch was recorded by the rejected calls');
    },
  },
  {
    name: 'a tensor of exactly maxStorageBufferBindingSize (128 MiB on a device with WebGPU\'s default limits) is made, bound whole by a kernel and read back; one element more is refused',
    timeout: 120_000,
    async run() {
      const { Engine } = await import('../../src/engine/engine');
      const { requestAdapter } = await import('../../src/engine/gpu');
      const adapter = await requestAdapter();
      const own = await Engine.create({ adapter, device: await adapter.requestDevice({ label: 'default limits' }) });
      try {
        const limit = own.limits.maxStorageBufferBindingSize;
        expectTrue(limit === 128 * 2 ** 20, `a device with default limits binds ${limit} bytes, not WebGPU's default 128 MiB`);
        const n = limit / 4;
        const data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = (i % 7) - 3;
        // ReLU over 32M elements: past 65535 workgroups in x, so its grid is folded as well.
        const { out } = layers.reluForward(own.tensor(data, [n]));
        const got = await out.read();
        let wrong = -1;
        for (let i = 0; i < n && wrong < 0; i++) if (got[i] !== Math.max(0, data[i]!)) wrong = i;
        expectTrue(wrong < 0, `relu of a tensor at the binding limit: element ${wrong} is ${got[wrong]}, expected ${Math.max(0, data[wrong]!)}`);
        await expectThrows(() => own.zeros([n + 1]), /zeros: a tensor of shape \[33554433\] takes 128 MiB, more than this device binds to a kernel \(maxStorageBufferBindingSize: 128 MiB\)/, 'one element past the limit');
      } finally {
        own.destroy();
      }
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
      // A failure of the GPU, told apart from bad input by class (the page waits for the device then).
      let lost: unknown = null;
      await t.read().catch((error: unknown) => (lost = error));
      expectTrue(lost instanceof DeviceError && lost instanceof ShadergradError && lost.name === 'DeviceError', `after the loss, read() threw ${String(lost)}, not a DeviceError`);
      let refused: unknown = null;
      try {
        own.tensor([1], [2]);
      } catch (error) {
        refused = error;
      }
      expectTrue(refused instanceof DeviceError, 'a lost device is reported before the shape is looked at');
    },
  },
  {
    name: 'a disposed tensor cannot be read or used',
    async run(engine) {
      const t = engine.tensor([1, 2, 3]);
      t.dispose();
      t.dispose(); // twice is harmless
      await expectThrows(() => t.read(), /read: a tensor of shape \[3\] was used after dispose/, 'read after dispose');
      await expectThrows(() => layers.reluForward(t), /reluForward: x \[3\] was disposed/, 'op on a disposed tensor');
    },
  },
  {
    name: 'layer functions refuse non-tensors, disposed tensors, another Engine\'s tensors and mis-shaped gradients by name, leaking nothing',
    async run(engine) {
      const { Engine } = await import('../../src/engine/engine');
      const x = engine.tensor(new Float32Array(6).fill(1), [2, 3]);
      const w = engine.tensor(new Float32Array(6).fill(0.5), [3, 2]);
      const b = engine.tensor(new Float32Array(2), [2]);
      const y = engine.tensor(new Int32Array([0, 1]));
      const gone = engine.tensor(new Float32Array(6), [2, 3]);
      gone.dispose();
      const live = engine.stats().liveTensors;
      const dispatches = engine.stats().dispatches;
      const refusals: Array<[() => unknown, RegExp, string]> = [
        [() => layers.reluForward(new Float32Array(3) as never), /reluForward: x must be a Tensor, got Float32Array/, 'relu of an array'],
        [() => layers.affineForward([1, 2, 3] as never, w, b), /affineForward: x must be a Tensor, got Array/, 'affine of an array'],
        [() => layers.softmaxLoss(x, new Int32Array([0, 1]) as never), /softmaxLoss: y must be a Tensor, got Int32Array/, 'labels as an array'],
        [() => layers.svmLoss(x, undefined as never), /svmLoss: y must be a Tensor, got undefined/, 'no labels'],
        [() => layers.affineBackward(x, undefined as never), /affineBackward: cache must be .* got undefined/, 'no cache'],
        [() => layers.reluForward(gone), /reluForward: x \[2, 3\] was disposed/, 'relu of a disposed tensor'],
        [() => layers.affineForward(gone, w, b), /affineForward: x \[2, 3\] was disposed/, 'affine of a disposed tensor'],
        [() => layers.softmaxLoss(gone, y), /softmaxLoss: x \[2, 3\] was disposed/, 'loss of a disposed tensor'],
        [() => layers.dropoutForward(gone, { p: 0.5, mode: 'train' }), /dropoutForward: x \[2, 3\] was disposed/, 'dropout of a disposed tensor'],
        [() => layers.affineBatchnormReluForward(undefined as never, w, b, b, b, { mode: 'train' }), /affineBatchnormReluForward: x must be a Tensor, got undefined/, 'fused layer without x'],
        [() => layers.softmaxLoss(x, y, { strategy: 'foo' as never }), /softmaxLoss: strategy must be 'row' or 'workgroup', got "foo"/, 'unknown loss strategy'],
        [() => layers.softmaxLoss(x, y, null as never), /softmaxLoss: options must be an object, got null/, 'null loss options'],
        [() => layers.svmLoss(x, y, { strategie: 'row' } as never), /svmLoss: unrecognized option strategie; known: strategy/, 'misspelt loss option'],
        [() => layers.dropoutForward(x, { p: 0.5, mode: 'train', rng: {} as never }), /dropoutForward: rng must be a Random \(an object with nextU32\(\)\), got Object/, 'dropout rng without nextU32'],
      ];
      for (const [fn, pattern, what] of refusals) await expectThrows(fn, pattern, what);
      expectTrue(engine.stats().liveTensors === live, `refused calls left ${engine.stats().liveTensors - live} tensors behind`);
      expectTrue(engine.stats().dispatches === dispatches, 'refused calls recorded GPU work');
      // Gradients must have the forward output's shape, not just its size.
      const { out, cache } = layers.reluForward(x);
      const square = engine.tensor(new Float32Array(9), [3, 3]);
      const { out: fc, cache: fcCache } = layers.affineForward(square, square, engine.tensor(new Float32Array(3), [3]));
      const { out: dropped, cache: dropCache } = layers.dropoutForward(x, { p: 0.5, mode: 'train', seed: 1 });
      const transposed = engine.tensor(new Float32Array(6), [3, 2]);
      const column = engine.tensor(new Float32Array(9), [9, 1]);
      const before = engine.stats().liveTensors;
      await expectThrows(() => layers.reluBackward(transposed, cache), /reluBackward: dout f32 \[3, 2\] does not match the cached input f32 \[2, 3\]/, 'relu dout transposed');
      await expectThrows(() => layers.dropoutBackward(transposed, dropCache), /dropoutBackward: dout f32 \[3, 2\] does not match the input \[2, 3\]/, 'dropout dout transposed');
      await expectThrows(() => layers.affineBackward(column, fcCache), /affineBackward: dout f32 \[9, 1\] should be f32 \[3, 3\]/, 'affine dout reshaped');
      expectTrue(engine.stats().liveTensors === before, `refused backward calls left ${engine.stats().liveTensors - before} tensors behind`);
      // Tensors of two engines in one call.
      const other = await Engine.create();
      try {
        const w2 = other.tensor(new Float32Array(6), [3, 2]);
        await expectThrows(() => layers.affineForward(x, w2, b), /affineForward: w and x belong to different Engines/, 'two engines');
      } finally {
        other.destroy();
      }
      for (const t of [x, w, b, y, out, square, fc, dropped, transposed, column]) t.dispose();
    },
  },
  {
    name: "a dataset's packed 8-bit tensor is refused by the layer functions and optimizers, by name, before any GPU work, leaking nothing",
    async run(engine) {
      const u = engine.tensorUnorm8(Uint8Array.from({ length: 6 }, (_, i) => i * 40), [2, 3]);
      const x = engine.tensor(new Float32Array(6).fill(1), [2, 3]);
      const w = engine.tensor(new Float32Array(6).fill(0.5), [3, 2]);
      const b = engine.tensor(new Float32Array(2), [2]);
      const y = engine.tensor(new Int32Array([0, 1]));
      const packedW = engine.tensorUnorm8(new Uint8Array(6), [3, 2]);
      const packedB = engine.tensorUnorm8(new Uint8Array(2), [2]);
      const { out: reluOut, cache: reluCache } = layers.reluForward(x);
      const live = engine.stats().liveTensors;
      const dispatches = engine.stats().dispatches;
      const packed = 'holds 8-bit data packed on the GPU \\(a dataset\\); unpack rows of it with datasets\\.toFloat32';
      const refusals: Array<[() => unknown, RegExp]> = [
        [() => layers.reluForward(u), new RegExp(`^shadergrad: reluForward: x \\[2, 3\\] ${packed}`)],
        [() => layers.reluBackward(u, reluCache), new RegExp(`^shadergrad: reluBackward: dout \\[2, 3\\] ${packed}`)],
        [() => layers.softmaxLoss(u, y), new RegExp(`^shadergrad: softmaxLoss: x \\[2, 3\\] ${packed}`)],
        [() => layers.svmLoss(u, y), new RegExp(`^shadergrad: svmLoss: x \\[2, 3\\] ${packed}`)],
        [() => layers.dropoutForward(u, { p: 0.5, mode: 'train' }), new RegExp(`^shadergrad: dropoutForward: x \\[2, 3\\] ${packed}`)],
        [() => layers.affineForward(u, w, b), new RegExp(`^shadergrad: affineForward: x \\[2, 3\\] ${packed}`)],
        [() => layers.affineForward(x, packedW, b), new RegExp(`^shadergrad: affineForward: w \\[3, 2\\] ${packed}`)],
        [() => layers.affineForward(x, w, packedB), new RegExp(`^shadergrad: affineForward: b \\[2\\] ${packed}`)],
        [() => optim.sgd(packedW, w), /^shadergrad: sgd: w must be an f32 tensor, got f32 \(unorm8\) \[3, 2\]/],
      ];
      for (const [fn, pattern] of refusals) await expectThrows(fn, pattern, pattern.source.slice(12, 40));
      expectTrue(engine.stats().liveTensors === live, `refused calls left ${engine.stats().liveTensors - live} tensors behind`);
      expectTrue(engine.stats().dispatches === dispatches, 'refused calls recorded GPU work');
      // toFloat32 is the way in: its rows are the values / 255.
      const unpacked = datasets.toFloat32(u);
      const values = await unpacked.read();
      expectTrue(values.every((v, i) => Math.abs(v - (i * 40) / 255) < 1e-6), `toFloat32: ${Array.from(values)}`);
      for (const t of [u, x, w, b, y, packedW, packedB, unpacked, reluOut]) t.dispose();
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
  {
    name: 'pool: sizes round up to 16-byte classes that share buffers ([5] and [8] f32); a buffer freed inside a capture is reused inside it; trim leaves only live buffers counted',
    async run(engine) {
      engine.trim();
      const live = engine.stats().bytesLive;
      const one = engine.empty([1]);
      expectTrue(engine.stats().bytesLive - live === 16, `a 1-element tensor takes ${engine.stats().bytesLive - live} bytes, expected 16`);
      one.dispose();
      const five = engine.empty([5]); // 20 bytes: the 32-byte class
      five.dispose();
      const created = engine.stats().buffersCreated;
      const eight = engine.empty([8]); // 32 bytes: five's buffer
      expectTrue(engine.stats().buffersCreated === created, 'an [8] tensor did not reuse the freed [5] buffer (both 32 bytes)');
      eight.dispose();
      engine.trim();
      const before = engine.stats().buffersCreated;
      const step = engine.capture(() => {
        const t = engine.zeros([777]);
        t.dispose();
        const u = engine.zeros([777]); // t's buffer, freed inside this capture
        u.dispose();
      }, 'reuse');
      expectTrue(engine.stats().buffersCreated - before === 1, `the capture made ${engine.stats().buffersCreated - before} buffers, expected 1`);
      step.dispose();
      engine.trim();
      const after = engine.stats();
      expectTrue(after.pooledBuffers === 0 && after.bytesPooled === 0 && after.bytesAllocated === after.bytesLive, `after trim: ${JSON.stringify(after)}`);
    },
  },
  {
    name: 'capture: a tensor made before a capture and freed inside it is not handed out while the step can replay',
    async run(engine) {
      engine.trim();
      const x = engine.tensor(new Float32Array(333).fill(1));
      const out = engine.empty([333]); // made before the capture
      const step = engine.capture(() => {
        engine.copy(x, out); // every replay writes out's buffer
        out.dispose();
      }, 'freed-inside');
      const stranger = engine.tensor(new Float32Array(333).fill(7)); // the same size, after the capture
      step.replay();
      expectTrue((await stranger.read()).every((v) => v === 7), "a replay overwrote a tensor made after the capture");
      step.dispose();
      for (const t of [x, stranger]) t.dispose();
    },
  },
  {
    name: 'replay: two unsubmitted replays each use their own dynamic uniforms; a host write after an unsubmitted replay waits for it; a step of more uniform blocks than one 64 KiB chunk replays whole',
    async run(engine) {
      const x = engine.tensor(new Float32Array(4).fill(1));
      const y = engine.zeros([4]);
      let alpha = 1;
      const step = engine.capture(() => axpyInPlace(engine, y, x, () => alpha), 'dynamic');
      alpha = 2;
      step.replay({ flush: false });
      alpha = 3;
      step.replay({ flush: false });
      expectTrue((await y.read()).every((v) => v === 6), `y = 1 + 2 + 3 expected, got ${Array.from(await y.read())}`);
      step.dispose();
      // x is read by the queued replay: writing it must submit that replay first.
      const fixed = engine.capture(() => axpyInPlace(engine, y, x, 1), 'fixed'); // y = 7
      fixed.replay({ flush: false }); // y = 8, with x = 1
      engine.writeBuffer(x.storage, new Float32Array(4).fill(10));
      expectTrue((await y.read()).every((v) => v === 8), `the write to x ran before the queued replay: y = ${Array.from(await y.read())}`);
      fixed.dispose();
      // More dispatches than one uniform chunk holds at this device's alignment.
      const n = Math.ceil((64 * 1024) / engine.limits.minUniformBufferOffsetAlignment) + 10;
      const z = engine.zeros([4]);
      const ones = engine.tensor(new Float32Array(4).fill(1));
      const many = engine.capture(() => {
        for (let i = 0; i < n; i++) axpyInPlace(engine, z, ones, 1);
      }, 'many');
      many.replay();
      expectTrue((await z.read()).every((v) => v === 2 * n), `${n} dispatches, captured and replayed: z = ${Array.from(await z.read())}, expected ${2 * n}`);
      many.dispose();
      for (const t of [x, y, z, ones]) t.dispose();
    },
  },
  {
    name: 'capture: data uploaded inside a capture is uploaded again on every replay (its buffer may be reused inside the step)',
    async run(engine) {
      const X = engine.tensor([10, 11, 12, 13], [4, 1]);
      const noise = engine.tensor(new Float32Array([9, 9, 9, 9]));
      const step = engine.capture(() => {
        const idx = engine.tensor(new Int32Array([3, 2, 1, 0]));
        const rows = gatherRows(engine, X, idx);
        idx.dispose();
        const tmp = engine.zeros([4]); // same size: takes idx's buffer inside the step
        axpyInPlace(engine, tmp, noise, 1);
        tmp.dispose();
        return rows;
      }, 'upload');
      expectTrue((await step.result.read()).join() === '13,12,11,10', 'the captured run');
      step.replay();
      step.replay();
      expectTrue((await step.result.read()).join() === '13,12,11,10', `a replay read ${Array.from(await step.result.read())}`);
      step.result.dispose();
      step.dispose();
      for (const t of [X, noise]) t.dispose();
    },
  },
  {
    name: 'capture: a buffer freed while another step is captured is never handed out while that step can still replay',
    async run(engine) {
      const x = engine.tensor(new Float32Array(64).fill(1));
      const T = engine.capture(() => engine.tensor(new Float32Array(64)), 'T');
      const r = T.result;
      const S = engine.capture(() => {
        axpyInPlace(engine, r, x, 1);
        r.dispose();
      }, 'S');
      T.dispose();
      const stranger = engine.tensor(new Float32Array(64).fill(7));
      S.replay();
      const got = (await stranger.read())[0];
      expectTrue(got === 7, `S's replay wrote into a tensor made after T was disposed: ${got}`);
      S.dispose();
      for (const t of [x, stranger]) t.dispose();
    },
  },
  {
    name: 'capture: after a capture throws, the next one can make state (persistentZeros, slab) in the failed step\'s buffers; a slab made inside a capture outlives its replays',
    async run(engine) {
      const a = engine.tensor(new Float32Array(64).fill(1));
      const small = engine.tensor(new Float32Array(8).fill(1));
      // A step that used and freed a 64-element buffer, then threw: its commands never run.
      await expectThrows(
        () =>
          engine.capture(() => {
            const t = engine.zeros([64]);
            axpyInPlace(engine, t, a, 1);
            t.dispose();
            throw new Error('a user error inside the capture');
          }),
        /a user error inside the capture/,
        'the failing capture',
      );
      // State made inside the next capture may land in that buffer: it is zeroed at once, not refused.
      const step = engine.capture(() => {
        const r = layers.reluForward(small).out;
        const state = engine.persistentZeros([64]);
        axpyInPlace(engine, state, a, 1);
        return { r, state };
      });
      expectTrue((await step.result.state.read()).every((v) => v === 1), 'state after the capture run');
      step.replay();
      expectTrue((await step.result.state.read()).every((v) => v === 2), 'state after one replay');
      // A slab made inside a capture after the step freed a buffer of its size: its own buffer, zero, untouched by replays.
      const scratch = engine.capture(() => {
        const t = engine.zeros([64]);
        axpyInPlace(engine, t, a, 3);
        t.dispose();
        return engine.slab({ w: [64] });
      });
      scratch.replay();
      expectTrue((await scratch.result.views.w!.read()).every((v) => v === 0), 'the slab stays zero through the replays');
      scratch.dispose();
      step.dispose();
      for (const t of [a, small, step.result.r, step.result.state, scratch.result.flat, ...Object.values(scratch.result.views)]) t.dispose();
      expectTrue(!engine.isCapturing, 'no capture left open');
    },
  },
  {
    name: 'capture: a step disposed while its replay waits unsubmitted still runs that replay; named errors for aliasing, same-buffer copies and async captures',
    async run(engine) {
      const x = engine.tensor(new Float32Array(64).fill(1));
      const y = engine.tensor(new Float32Array(64).fill(0));
      const step = engine.capture(() => axpyInPlace(engine, y, x, 2), 'axpy-step');
      step.replay({ flush: false });
      step.dispose();
      expectTrue((await y.read())[0] === 4, 'capture run + the queued replay');
      await expectThrows(() => axpyInPlace(engine, y, y, 1), /axpy.*: binding \d is written and binding \d reads the same GPU buffer/, 'y += y');
      const slab = engine.slab({ a: [4], b: [4] });
      await expectThrows(() => engine.copy(slab.views.a!, slab.views.b!), /copy: .* share one GPU buffer/, 'copy within a slab');
      // One kernel may write two views of one slab (WebGPU allows it where nothing reads that
      // buffer), but not one range twice.
      const d = engine.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
      const xhat = engine.tensor([0.5, -1, 2, 0, -0.5, 1, -2, 0], [2, 4]);
      const gamma = engine.tensor([1, 1, 1, 1]);
      const invStd = engine.tensor([1, 1, 1, 1]);
      const g = batchnormGrads(engine, d, xhat, gamma, invStd, undefined, { dgamma: slab.views.a, dbeta: slab.views.b });
      expectTrue(g.dgamma === slab.views.a && g.dbeta === slab.views.b, 'dgamma and dbeta are the views given');
      expectClose(await slab.views.a!.read(), [0.5 - 2.5, -2 + 6, 6 - 14, 0], 1e-6, 'dgamma = Σ dout·xhat, into its view');
      expectClose(await slab.views.b!.read(), [6, 8, 10, 12], 1e-6, 'dbeta = Σ dout, into its view');
      g.dx.dispose();
      await expectThrows(
        () => batchnormGrads(engine, d, xhat, gamma, invStd, undefined, { dgamma: slab.views.a, dbeta: slab.views.a }),
        /batchnorm.*: binding \d is written and binding \d is written too, to an overlapping range of the same GPU buffer/,
        'dgamma and dbeta into one view',
      );
      // A written view beside a read one of the same slab is still refused (WebGPU would refuse the dispatch).
      await expectThrows(() => axpyInPlace(engine, slab.views.a!, slab.views.b!, 1), /axpy.*: binding \d is written and binding \d reads the same GPU buffer/, 'a += b within a slab');
      for (const t of [d, xhat, gamma, invStd]) t.dispose();
      await expectThrows(() => engine.capture(async () => undefined), /returned a Promise; a capture records synchronous work only/, 'async capture');
      expectTrue(!engine.isCapturing, 'no capture left open');
      for (const t of [x, y, slab.flat, ...Object.values(slab.views)]) t.dispose();
    },
  },
  {
    name: 'test harness: relativeError, courseRelError and expectClose give the values their formulas define (every tolerance means what it says)',
    async run() {
      // ‖a − b‖ / ‖b‖: not its square, not a max; ‖a − b‖ when b is zero; NaN fails every bound.
      expectTrue(relativeError([1, 2, 2], [1, 2, 2]) === 0, 'relativeError of equal arrays');
      expectTrue(Math.abs(relativeError([1.3, 2, 2.4], [1, 2, 2]) - 0.5 / 3) < 1e-15, `relativeError ${relativeError([1.3, 2, 2.4], [1, 2, 2])}, expected 0.5 / 3`);
      expectTrue(Math.abs(relativeError([3e-3, 4e-3], [0, 0]) - 5e-3) < 1e-15, `relativeError against zeros ${relativeError([3e-3, 4e-3], [0, 0])}, expected 5e-3`);
      expectTrue(Number.isNaN(relativeError([Number.NaN, 1], [1, 1])), 'relativeError with NaN');
      // max |a − b| / max(1e-8, |a| + |b|)
      expectTrue(Math.abs(courseRelError([1, 3], [1.5, 3.1]) - 0.2) < 1e-15, `courseRelError ${courseRelError([1, 3], [1.5, 3.1])}, expected 0.2`);
      expectTrue(Math.abs(courseRelError([1e-9], [0]) - 0.1) < 1e-15, `courseRelError near zero ${courseRelError([1e-9], [0])}, expected 0.1`);
      // expectClose passes just inside the bound and fails just past it, naming the worst element.
      expectTrue(expectClose([1, 2, 2.00029], [1, 2, 2], 1e-4, 'inside the bound') <= 1e-4, 'expectClose inside its bound');
      await expectThrows(() => expectClose([1, 2, 2.00031], [1, 2, 2], 1e-4, 'past the bound'), /past the bound: relative error 1\.033e-4 exceeds 1\.0e-4 \(worst at 2/, 'expectClose past its bound');
      await expectThrows(() => expectCloseOrNaN([1, 2], [1, Number.NaN], 1, 'NaN where expected'), /NaN where expected: \[1\] = 2, expected NaN/, 'expectCloseOrNaN without the NaN');
    },
  },
  {
    name: 'grid1d: past 65535 workgroups a 1-D grid folds into 2-D that covers every workgroup (odd counts too), no dimension over 65535',
    async run() {
      // The 2-D grid cases elsewhere (16,777,473 elements: 65538 workgroups; 70000 loss rows) have even counts,
      // which x = ⌊n / y⌋ would cover too; an odd count needs ⌈n / y⌉ or its last workgroup never runs.
      for (const n of [0, 1, 255, 65535, 65536, 65537, 65539, 131071, 131072, 196607, 1_000_001, 65535 * 65535]) {
        const [x, y, z] = grid1d(n);
        const what = `grid1d(${n}) = [${x}, ${y}, ${z}]`;
        expectTrue(z === 1 && x >= 1 && y >= 1 && x <= 65535 && y <= 65535, `${what}: a dimension out of [1, 65535]`);
        expectTrue(x * y >= Math.max(n, 1), `${what}: ${x * y} workgroups for ${n}`);
        expectTrue(n <= 65535 ? y === 1 && x === Math.max(n, 1) : x * y - n < y, `${what}: more than one row of spare workgroups`);
      }
    },
  },
  {
    name: 'viewsLike: a layout must fit inside the flat tensor given, not merely inside its buffer (a view of one part of a slab)',
    async run(engine) {
      const slab = engine.slab({ a: [4], b: [8] }, 'views-test');
      const views = engine.viewsLike(slab.flat, slab.views);
      expectTrue(views.a!.byteOffset === slab.views.a!.byteOffset && views.b!.byteOffset === slab.views.b!.byteOffset, 'views of the whole slab keep its offsets');
      // slab.views.a is the slab's first 16 bytes: b's place lies in the same buffer, past a's end.
      const live = engine.stats().liveTensors;
      await expectThrows(() => engine.viewsLike(slab.views.a!, slab.views), /^shadergrad: viewsLike: b .* does not fit in /, 'a layout past the end of a sub-view');
      expectTrue(engine.stats().liveTensors === live, 'a refused layout left views behind');
      for (const t of [...Object.values(views), ...Object.values(slab.views), slab.flat]) t.dispose();
    },
  },
];
