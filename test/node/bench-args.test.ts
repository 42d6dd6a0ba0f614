// The benchmark scripts' flags, checked before any GPU work (no adapter needed).

import { describe, expect, it } from 'vitest';
import { parseStepArgs } from '../../bench/train-step';

describe('bench/train-step.ts flags', () => {
  it('reads --steps, --batch and the switches; defaults 10 steps of batch 256', () => {
    expect(parseStepArgs([])).toEqual({ steps: 10, batch: 256, flags: new Set() });
    const parsed = parseStepArgs(['--steps', '2000', '--batch', '64', '--plain', '--forward-backward']);
    expect(parsed.steps).toBe(2000);
    expect(parsed.batch).toBe(64);
    expect([...parsed.flags].sort()).toEqual(['--forward-backward', '--plain']);
  });

  it('refuses a misspelt flag or a bad number instead of running the defaults', () => {
    expect(() => parseStepArgs(['--stesp', '5'])).toThrow(/train-step: unknown argument "--stesp"/);
    expect(() => parseStepArgs(['--batch', '0'])).toThrow(/--batch needs a positive integer, got "0"/);
    expect(() => parseStepArgs(['--steps'])).toThrow(/--steps needs a positive integer, got undefined/);
  });
});
