import { runFuzz } from '@roomcast/testing';
import fc from 'fast-check';
import { instanceMetrics } from './presence.service';

describe('instanceMetrics (a heartbeat counters as presence stores them)', () => {
  const good = { accepted: 12, deliveries: 40, unused: 0, at: 1_700_000_000_000 };

  it('keeps the four counters and nothing else', () => {
    expect(instanceMetrics({ ...good, extra: 'x', __proto__: { a: 1 } })).toEqual(good);
  });

  it.each([
    undefined,
    null,
    'metrics',
    7,
    [],
    {},
    { ...good, at: undefined },
    { ...good, accepted: -1 },
    { ...good, deliveries: Number.NaN },
    { ...good, unused: Number.POSITIVE_INFINITY },
    { ...good, accepted: '12' },
  ])('drops %p', (raw) => {
    expect(instanceMetrics(raw)).toBeUndefined();
  });

  it('answers either the counters as given or nothing, whatever comes over the wire', async () => {
    await runFuzz(
      'instance metrics, any value',
      fc.property(fc.anything(), (raw) => {
        const m = instanceMetrics(raw);
        if (m === undefined) return;
        expect(Object.keys(m).sort()).toEqual(['accepted', 'at', 'deliveries', 'unused']);
        for (const v of Object.values(m)) expect(Number.isFinite(v) && v >= 0).toBe(true);
      }),
      { defaultRuns: 200 },
    );
    await runFuzz(
      'instance metrics, valid counters',
      fc.property(
        fc.record({
          accepted: fc.nat(),
          deliveries: fc.nat(),
          unused: fc.nat(),
          at: fc.nat(),
        }),
        (raw) => {
          expect(instanceMetrics(raw)).toEqual(raw);
        },
      ),
      { defaultRuns: 200 },
    );
  });
});
