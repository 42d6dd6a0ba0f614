// Where the shipped Fashion-MNIST sample lives: literal `new URL(…, import.meta.url)`s that both builds emit as asset files next to their chunk (vite.assets.ts).

export function sampleUrl(split: 'train' | 'test', kind: 'images' | 'labels'): URL {
  if (split === 'train') {
    return kind === 'images'
      ? new URL('./fashion-mnist-sample/train-images-idx3-ubyte.gz', import.meta.url)
      : new URL('./fashion-mnist-sample/train-labels-idx1-ubyte.gz', import.meta.url);
  }
  return kind === 'images'
    ? new URL('./fashion-mnist-sample/t10k-images-idx3-ubyte.gz', import.meta.url)
    : new URL('./fashion-mnist-sample/t10k-labels-idx1-ubyte.gz', import.meta.url);
}
