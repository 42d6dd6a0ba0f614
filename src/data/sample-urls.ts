// Where the shipped Fashion-MNIST sample lives: literal `new URL(…, import.meta.url)`s that bundlers emit as assets (a library build inlines them, so this module is loaded on demand, in a chunk of its own).

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
