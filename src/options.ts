// Option objects: an object of known keys, anything else refused by name (a course user's snake_case spelled out).

import { ShadergradError } from './errors';

/**
 * Throws unless `options` is an object whose keys are all in `known`; `op` names the caller in the
 * Error. A misspelt or snake_case name (hidden_dim, useBatchnorm) would otherwise be ignored
 * silently and give another model (or dataset, or loss) than asked for.
 */
export function checkOptions(op: string, options: unknown, known: readonly string[]): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ShadergradError(op, `options must be an object, got ${Array.isArray(options) ? 'an array' : show(options)}`);
  }
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (!unknown.length) return;
  const hint = (key: string) => {
    const camel = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    return known.includes(camel) ? ` (shadergrad spells it ${camel})` : '';
  };
  throw new ShadergradError(op, `unrecognized option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `${k}${hint(k)}`).join(', ')}; known: ${known.join(', ')}`);
}

/** A seed: absent, or an integer in [0, 2³²) (a fraction or a string would be truncated to another seed). */
export function checkSeed(op: string, seed: unknown): void {
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)) {
    throw new ShadergradError(op, `seed must be an integer in [0, 2^32), got ${show(seed)}`);
  }
}

/** A value as an error message shows it: strings quoted, so '0.5' is not mistaken for 0.5. */
export function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
