// Node or not, and Node's built-ins loaded at run time only in Node: browser bundles never see them (a variable import specifier).

/** Running in Node (not a browser, nor a browser-like test page). */
export const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

export type NodeBuiltin = 'node:zlib' | 'node:fs' | 'node:fs/promises' | 'node:path' | 'node:url' | 'node:os' | 'node:crypto';

export async function nodeBuiltin<T>(name: NodeBuiltin): Promise<T> {
  const specifier: string = name;
  return (await import(/* @vite-ignore */ specifier)) as T;
}
