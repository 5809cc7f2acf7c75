import { runInNewContext } from 'node:vm';
import {
  ADMIN_TRENDS_SCRIPT,
  TREND_MIN_SPAN_MS,
  TREND_SAMPLES,
  TREND_WINDOW_MS,
} from './admin.trends';

interface Sample {
  t: number;
  v: number | null;
}
interface RingLike {
  push(t: number, v: number | null): void;
  samples(): Sample[];
  latest(): Sample | undefined;
  span(now: number): number;
}
type Beat = {
  at: number;
  startedAt?: number;
  accepted: number;
  deliveries: number;
  unused: number;
};
type Rates = Record<'accepted' | 'deliveries' | 'unused', number>;
interface Trends {
  Ring: new (size: number) => RingLike;
  counterRates(prev: Beat | undefined, next: Beat): Rates | undefined;
  niceMax(v: number): number;
  chartPaths(
    samples: Sample[],
    now: number,
    windowMs: number,
    width: number,
    height: number,
  ): { line: string; area: string; top: number; max: number; count: number };
}

/** The script exactly as the page carries it, run in a context of its own (no DOM in it). */
function load(): Trends {
  const context: Record<string, unknown> = {};
  runInNewContext(
    `${ADMIN_TRENDS_SCRIPT}\nthis.out = { Ring, counterRates, niceMax, chartPaths };`,
    context,
  );
  return context.out as Trends;
}

describe("the operations page's trends script", () => {
  const t = load();

  it('keeps the last N samples in time order', () => {
    const ring = new t.Ring(3);
    expect(ring.latest()).toBeUndefined();
    for (let i = 1; i <= 5; i++) ring.push(i * 1000, i);
    expect(ring.samples().map((s) => s.v)).toEqual([3, 4, 5]);
    expect(ring.latest()).toEqual({ t: 5000, v: 5 });
    const page = new t.Ring(TREND_SAMPLES);
    for (let i = 0; i < TREND_SAMPLES + 17; i++) page.push(i, i);
    expect(page.samples()).toHaveLength(TREND_SAMPLES);
    expect(page.samples()[0].v).toBe(17);
  });

  it('spans a minute at first, then back to the oldest sample, at most the window', () => {
    const ring = new t.Ring(TREND_SAMPLES);
    expect(ring.span(0)).toBe(TREND_MIN_SPAN_MS);
    ring.push(1000, 1);
    expect(ring.span(31_000)).toBe(TREND_MIN_SPAN_MS);
    expect(ring.span(121_000)).toBe(120_000);
    expect(ring.span(1000 + 2 * TREND_WINDOW_MS)).toBe(TREND_WINDOW_MS);
  });

  it('gives per-second rates from two heartbeats, none before the second', () => {
    const a: Beat = { at: 10_000, startedAt: 1, accepted: 100, deliveries: 300, unused: 2 };
    expect(t.counterRates(undefined, a)).toBeUndefined();
    expect(t.counterRates(a, a)).toBeUndefined();
    expect(
      t.counterRates(a, { at: 12_000, startedAt: 1, accepted: 140, deliveries: 420, unused: 2 }),
    ).toEqual({ accepted: 20, deliveries: 60, unused: 0 });
  });

  it('never gives a negative rate when a gateway restarts: its counts from zero since it started', () => {
    const before: Beat = { at: 10_000, startedAt: 1, accepted: 5000, deliveries: 9000, unused: 40 };
    // Restarted at 11 s with the same id; 12 s: 30 accepted since then.
    const after = { at: 12_000, startedAt: 11_000, accepted: 30, deliveries: 60, unused: 0 };
    expect(t.counterRates(before, after)).toEqual({ accepted: 30, deliveries: 60, unused: 0 });
    // A counter that went back without a startedAt: from zero over the interval.
    const reset = { at: 12_000, accepted: 10, deliveries: 10_000, unused: 0 };
    const r = t.counterRates({ ...before, startedAt: undefined }, reset);
    expect(r).toEqual({ accepted: 5, deliveries: 5000, unused: 0 });
    for (const v of Object.values(r ?? {})) expect(v).toBeGreaterThanOrEqual(0);
  });

  it('rounds the top of a chart up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 0.4, 1, 1.5, 2, 3, 7, 10, 11, 99, 101, 4000].map(t.niceMax)).toEqual([
      1, 1, 1, 2, 2, 5, 10, 10, 20, 100, 200, 5000,
    ]);
  });

  it('draws the window before now, right edge now, top the nice max; an unknown sample is a gap', () => {
    const samples: Sample[] = [
      { t: 0, v: 90 }, // outside the 200 ms window: not drawn, nor in the top
      { t: 100, v: 0 },
      { t: 150, v: 5 },
      { t: 160, v: null },
      { t: 200, v: 10 },
    ];
    const c = t.chartPaths(samples, 200, 200, 300, 60);
    expect(c).toMatchObject({ top: 10, max: 10, count: 4 });
    expect(c.line).toBe('M150 60L225 30M300 0');
    expect(c.area).toBe('M150 60L150 60L225 30L225 60ZM300 60L300 0L300 60Z');
    // Nothing known: no line, and a top of 1.
    expect(t.chartPaths([{ t: 5, v: null }], 10, 100, 300, 60)).toMatchObject({
      line: '',
      top: 1,
    });
  });
});
