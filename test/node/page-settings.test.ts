// The page's settings as the form and the URL give them (src/page/settings.ts): what is refused, and how it is said.

import { describe, expect, it } from 'vitest';
import { parseField, readUrl } from '../../src/page/settings';

describe('page settings', () => {
  it('numbers are decimals that f32 holds as normal values: the GPU would train nothing with 1e-50', () => {
    expect(parseField('lr', '2e-3')).toBe(0.002);
    expect(parseField('reg', '0')).toBe(0);
    for (const [field, text] of [['lr', '1e-50'], ['lr', '1e-46'], ['lrDecay', '1e-50'], ['reg', '1e-50'], ['lr', '0x10'], ['epochs', '1_0'], ['lr', 'Infinity'], ['lr', '']] as const) {
      expect(() => parseField(field, text), `${field}=${text}`).toThrow(new RegExp(`must be .*got "${text}"`));
    }
  });

  it('hidden sizes are plain integers: 0x10 is not 16', () => {
    expect(parseField('hidden', '256, 128')).toEqual([256, 128]);
    expect(() => parseField('hidden', '0x10')).toThrow(/hidden must be 1 to \d+ layer sizes/);
    expect(() => parseField('hidden', '1e2')).toThrow(/hidden must be/);
  });

  it('an unknown autostart value is reported, not ignored silently', () => {
    expect(readUrl('?autostart=1').autostart).toBe(true);
    expect(readUrl('?autostart=0').problems).toEqual([]);
    const yes = readUrl('?autostart=yes');
    expect(yes.autostart).toBe(false);
    expect(yes.problems).toEqual(['autostart must be 1 or 0, got "yes"']);
  });
});
