// What the Chromium test page records on `window` and how the Node runner selects cases: shared by both sides.

import type { AdapterDescription } from '../../src/index';

/** A case's time limit when it names none: vitest's testTimeout in vitest.config.ts, as the Node runner uses. */
export const DEFAULT_CASE_TIMEOUT = 120_000;

/**
 * The URL parameter that lists the cases to run: comma-separated indices into every case of
 * test/cases in order (family by family); absent: every case. Indices keep the URL short.
 */
export const SELECTION_PARAM = 'cases';

export interface CaseResult {
  family: string;
  name: string;
  ok: boolean;
  /** The error's message, or null when the case passed. */
  error: string | null;
  /** The error's stack (source-mapped by the dev server), when there is one. */
  stack: string | null;
  ms: number;
}

export interface PageState {
  /** loading: the module is starting; running: cases are running; done: every case has a result; error: the page failed. */
  status: 'loading' | 'running' | 'done' | 'error';
  adapter: AdapterDescription | null;
  /** Why the page failed (status 'error'), e.g. no WebGPU adapter. */
  error: string | null;
  /** The case that is running now. */
  current: { family: string; name: string; timeout: number } | null;
  results: CaseResult[];
}

declare global {
  interface Window {
    __shadergrad?: PageState;
  }
}
