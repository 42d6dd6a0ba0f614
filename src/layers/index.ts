// The layer API of the course (camelCased), on Tensors: forward returns { out, cache }.

export * from './affine';
export * from './batchnorm';
export * from './dropout';
export * from './loss';
