// Types of chromium.mjs, for the TypeScript test files that import it.

export declare const CHROMIUM_CANDIDATES: readonly string[];
export declare function findChromium(): string | null;
export declare function chromiumFlags(): string[];
