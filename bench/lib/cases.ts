// The benchmark's cases, shared by every implementation: matmul shapes, elementwise sizes, the training-step model.

export interface MatmulCase {
  name: string;
  M: number;
  K: number;
  N: number;
  /** op(A) = Aᵀ: A is stored K×M. */
  transA: boolean;
  /** op(B) = Bᵀ: B is stored N×K. */
  transB: boolean;
}

/** The model every training-step row trains: FullyConnectedNet 784-512-256-10, softmax loss, Adam. */
export const MODEL = { inputDim: 784, hiddenDims: [512, 256], numClasses: 10 } as const;
export const MODEL_NAME = [MODEL.inputDim, ...MODEL.hiddenDims, MODEL.numClasses].join('-');
export const ADAM = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;
/** Standard deviation of the initial weights (all implementations start from the same ones). */
export const WEIGHT_SCALE = 0.05;
export const DROPOUT_P = 0.5;
export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.9;

export interface TrainCase {
  name: string;
  batch: number;
  batchnorm: boolean;
  dropout: boolean;
}

export const SQUARE_SIZES = [256, 512, 1024, 2048, 4096];

/** Every matrix product of one training step of the model at batch 256 (forward, then backward; dx of the input is not needed). */
export function stepMatmuls(batch = 256): MatmulCase[] {
  const [D, H1, H2] = [MODEL.inputDim, ...MODEL.hiddenDims] as [number, number, number];
  const C = MODEL.numClasses;
  const mk = (M: number, K: number, N: number, transA: boolean, transB: boolean, what: string): MatmulCase => ({
    name: `${M}x${K}x${N} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${what}`,
    M,
    K,
    N,
    transA,
    transB,
  });
  return [
    mk(batch, D, H1, false, false, 'x·W1'),
    mk(batch, H1, H2, false, false, 'h1·W2'),
    mk(batch, H2, C, false, false, 'h2·W3'),
    mk(batch, C, H2, false, true, 'dout3·W3ᵀ'),
    mk(H2, batch, C, true, false, 'h2ᵀ·dout3'),
    mk(batch, H2, H1, false, true, 'dout2·W2ᵀ'),
    mk(H1, batch, H2, true, false, 'h1ᵀ·dout2'),
    mk(D, batch, H1, true, false, 'xᵀ·dout1'),
  ];
}

export function squareMatmul(n: number): MatmulCase {
  return { name: `${n}x${n}x${n}`, M: n, K: n, N: n, transA: false, transB: false };
}

export const flops = (c: MatmulCase) => 2 * c.M * c.K * c.N;

export interface ElementwiseCase {
  name: string;
  op: 'relu-forward' | 'relu-backward' | 'dropout';
  n: number;
  /** Bytes the op must move (reads + writes of f32 arrays). */
  bytes: number;
}

export function elementwiseCases(sizes: readonly number[]): ElementwiseCase[] {
  const out: ElementwiseCase[] = [];
  for (const n of sizes) {
    const size = n === 256 * 512 ? '256x512' : `${n / 2 ** 20}M`;
    out.push({ name: `relu forward ${size}`, op: 'relu-forward', n, bytes: 8 * n });
    out.push({ name: `relu backward ${size}`, op: 'relu-backward', n, bytes: 12 * n });
    out.push({ name: `dropout p=${DROPOUT_P} ${size}`, op: 'dropout', n, bytes: 8 * n });
  }
  return out;
}

export function trainCases(batches: readonly number[], variants: ReadonlyArray<{ batchnorm: boolean; dropout: boolean }>): TrainCase[] {
  const out: TrainCase[] = [];
  for (const batch of batches) {
    for (const { batchnorm, dropout } of variants) {
      out.push({ name: `${MODEL_NAME} b${batch}${batchnorm ? ' batchnorm' : ''}${dropout ? ' dropout' : ''}`, batch, batchnorm, dropout });
    }
  }
  return out;
}

export const ALL_VARIANTS = [
  { batchnorm: false, dropout: false },
  { batchnorm: true, dropout: false },
  { batchnorm: false, dropout: true },
  { batchnorm: true, dropout: true },
];

/** Parameter count of the model (W1, b1, …; gamma/beta when batchnorm). */
export function modelParams(batchnorm = false): number {
  const dims = [MODEL.inputDim, ...MODEL.hiddenDims, MODEL.numClasses];
  let n = 0;
  for (let l = 1; l < dims.length; l++) n += dims[l - 1]! * dims[l]! + dims[l]! + (batchnorm && l < dims.length - 1 ? 2 * dims[l]! : 0);
  return n;
}

/** Deterministic data: the same arrays in every implementation. */
export function seededArray(n: number, seed: number, scale = 1): Float32Array {
  // xorshift32 → Box–Muller-free uniform in [-scale, scale): cheap and identical everywhere.
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export function seededLabels(n: number, classes: number, seed: number): Int32Array {
  const u = seededArray(n, seed);
  return Int32Array.from(u, (v) => Math.min(classes - 1, Math.floor(((v + 1) / 2) * classes)));
}

/** Named parameters with their shapes: W1, b1, (gamma1, beta1), …, as FullyConnectedNet names them. */
export type Weights = Record<string, { data: Float32Array; shape: number[] }>;

/** The initial parameters every implementation starts from: uniform weights of standard deviation WEIGHT_SCALE, zero biases, unit gammas. */
export function initialWeights(batchnorm: boolean, seed = 7): Weights {
  const dims = [MODEL.inputDim, ...MODEL.hiddenDims, MODEL.numClasses];
  const out: Weights = {};
  for (let l = 1; l < dims.length; l++) {
    const [fanIn, fanOut] = [dims[l - 1]!, dims[l]!];
    out[`W${l}`] = { data: seededArray(fanIn * fanOut, seed + l, WEIGHT_SCALE * Math.sqrt(3)), shape: [fanIn, fanOut] };
    out[`b${l}`] = { data: new Float32Array(fanOut), shape: [fanOut] };
    if (batchnorm && l < dims.length - 1) {
      out[`gamma${l}`] = { data: new Float32Array(fanOut).fill(1), shape: [fanOut] };
      out[`beta${l}`] = { data: new Float32Array(fanOut), shape: [fanOut] };
    }
  }
  return out;
}
