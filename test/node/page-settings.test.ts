// The page's settings as the form and the URL give them (src/page/settings.ts): what is refused, and how it is said.

import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseField, readUrl, toQuery } from '../../src/page/settings';

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

  it('toQuery writes only what differs from the dataset defaults, by URL name (decay for lrDecay), and readUrl reads it back', () => {
    expect(toQuery(DEFAULTS.fashion)).toBe('?dataset=fashion');
    const settings = { ...DEFAULTS.fashion, hidden: [64, 32], batchnorm: false, dropout: 0.5, update: 'sgdMomentum' as const, lr: 0.01, lrDecay: 1, batch: 64, epochs: 3, seed: 9, reg: 0.25 };
    const query = toQuery(settings);
    expect(query).toBe('?dataset=fashion&hidden=64,32&batchnorm=0&dropout=0.5&update=sgdMomentum&lr=0.01&decay=1&batch=64&epochs=3&seed=9&reg=0.25');
    expect(readUrl(query)).toEqual({ settings, autostart: false, problems: [] });
    expect(readUrl('?dataset=spiral&decay=0.5').settings).toEqual({ ...DEFAULTS.spiral, lrDecay: 0.5 });
  });

  it('dataset=fashion-full falls back to the sample where the full set is not served, with a problem saying so', () => {
    expect(readUrl('?dataset=fashion-full', true).settings.dataset).toBe('fashion-full');
    const without = readUrl('?dataset=fashion-full', false);
    expect(without.settings).toEqual(DEFAULTS.fashion);
    expect(without.problems).toEqual(['dataset=fashion-full needs the full Fashion-MNIST, which is not served with this page (the sample is used)']);
  });

  it('each bound: the last value allowed is accepted, the first past it refused', () => {
    expect(parseField('dropout', '0.99')).toBe(0.99);
    expect(parseField('lrDecay', '1')).toBe(1);
    expect(parseField('batch', '4096')).toBe(4096);
    expect(parseField('epochs', '1000')).toBe(1000);
    expect(parseField('lr', '10')).toBe(10);
    expect(parseField('reg', '100')).toBe(100);
    expect(parseField('seed', '4294967295')).toBe(4294967295);
    expect(parseField('hidden', '1,2,3,4,5,4096')).toEqual([1, 2, 3, 4, 5, 4096]);
    for (const [field, text] of [['dropout', '1'], ['lrDecay', '1.01'], ['batch', '4097'], ['epochs', '1001'], ['lr', '10.5'], ['reg', '101'], ['seed', '4294967296'], ['hidden', '1,2,3,4,5,6,7'], ['hidden', '4097']] as const) {
      expect(() => parseField(field, text), `${field}=${text}`).toThrow(new RegExp(`^${field === 'lrDecay' ? 'decay' : field} must be .*got "${text}"`));
    }
  });
});
