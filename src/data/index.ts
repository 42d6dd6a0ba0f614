// Datasets: the IDX format, Fashion-MNIST (full or the shipped sample), the course's spiral, and toFloat32 to unpack a dataset's rows.

export { loadIdx, parseIdx, encodeIdx, type IdxArray, type IdxDType, type IdxData } from './idx';
export {
  fashionMnist,
  loadFashionMnist,
  fashionMnistCacheDir,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_CLASSES as fashionMnistClasses,
  DEBIAN_FASHION_MNIST_DIR,
  type FashionMnist,
  type FashionMnistHost,
  type FashionMnistOptions,
  type FashionMnistProgress,
  type FashionMnistSplit,
} from './fashion-mnist';
export { spiral, spiralData, type SpiralOptions } from './spiral';
export { toFloat32 } from './to-float32';
