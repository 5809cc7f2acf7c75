import type { SeqState } from '@roomcast/store';
import { runFuzz } from '@roomcast/testing';
import fc from 'fast-check';
import { holdsEverySeq, isComplete } from './chat.service';

/** A generation that started at Redis's clock in microseconds (_log.lua's nextSeq). */
const GEN = 1_733_000_000_000_000;
const seq = (current: number, gen: number): SeqState => ({ current, gen });

describe('isComplete: whether a join ack leaves the client nothing it can no longer get', () => {
  describe('a fresh join (no sinceSeq: since 0)', () => {
    it('is complete for a room never written to (no counter, no generation)', () => {
      expect(isComplete(0, Infinity, seq(0, 0))).toBe(true);
    });

    it("is complete when the log still holds its generation's first entry", () => {
      expect(isComplete(0, GEN + 1, seq(GEN + 7, GEN))).toBe(true);
    });

    it('is not complete once retention dropped the first entries, or all of them', () => {
      expect(isComplete(0, GEN + 2, seq(GEN + 7, GEN))).toBe(false);
      expect(isComplete(0, Infinity, seq(GEN + 7, GEN))).toBe(false);
    });
  });

  describe('a rejoin with sinceSeq of the same generation', () => {
    it('is complete when the log holds the entry right after since', () => {
      expect(isComplete(GEN + 3, GEN + 4, seq(GEN + 9, GEN))).toBe(true);
    });

    it('is not complete when the first entry held after since is a later one', () => {
      expect(isComplete(GEN + 3, GEN + 5, seq(GEN + 9, GEN))).toBe(false);
    });

    it('is complete with nothing after since only when the counter is at since', () => {
      expect(isComplete(GEN + 9, Infinity, seq(GEN + 9, GEN))).toBe(true);
      // Entries after since were written, and none is left.
      expect(isComplete(GEN + 3, Infinity, seq(GEN + 9, GEN))).toBe(false);
    });

    it("takes since at the generation's start as nothing of it yet", () => {
      expect(isComplete(GEN, GEN + 1, seq(GEN + 2, GEN))).toBe(true);
      expect(isComplete(GEN, GEN + 2, seq(GEN + 2, GEN))).toBe(false);
    });
  });

  it('is never complete for a since of an earlier generation (Redis lost the room)', () => {
    // Whatever came after 40 in the lost generation, nobody can tell the client any more: even a
    // log holding its whole new generation is not complete.
    expect(isComplete(40, GEN + 1, seq(GEN + 3, GEN))).toBe(false);
    expect(isComplete(40, Infinity, seq(GEN + 3, GEN))).toBe(false);
  });

  it('counts from since when the generation is unknown (gen 0)', () => {
    expect(isComplete(0, 1, seq(5, 0))).toBe(true);
    expect(isComplete(0, 2, seq(5, 0))).toBe(false);
    expect(isComplete(3, 4, seq(5, 0))).toBe(true);
    expect(isComplete(3, 5, seq(5, 0))).toBe(false);
  });

  /**
   * A model of a room's log: its generation started at `gen` (0: unknown, seqs from 1), every
   * seq from gen + 1 to `current` was written (a message or an update), and retention kept the
   * newest `kept` of them (a suffix of the log: the rule looks at the first entry only). The
   * client holds everything up to `since` (nothing: 0), of this generation or of an earlier one.
   * The ack carries the held entries after since, so `first` is the oldest of those. Complete
   * means the client then has every entry of the generation after since, and lost nothing of an
   * earlier generation that nobody can tell it of.
   */
  it('agrees with a model of a log under retention, for any since (1000 cases)', async () => {
    const room = fc
      .record({
        gen: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 }), fc.constant(GEN)),
        written: fc.nat(40),
      })
      .chain(({ gen, written }) => {
        // A generation starts with its first write: a known generation has at least one.
        const n = gen > 0 ? Math.max(1, written) : written;
        const current = gen + n;
        return fc.record({
          gen: fc.constant(gen),
          current: fc.constant(current),
          kept: fc.integer({ min: 0, max: n }),
          since: fc.oneof(
            fc.constant(0),
            // A seq of this generation (or its start), up to the counter.
            fc.integer({ min: gen, max: current }),
            // A seq of an earlier generation, below this one's start.
            ...(gen > 1 ? [fc.integer({ min: 1, max: gen - 1 })] : []),
          ),
        });
      });
    await runFuzz(
      'isComplete against a log model',
      fc.property(room, ({ gen, current, kept, since }) => {
        const written = Array.from({ length: current - gen }, (_, i) => gen + 1 + i);
        const held = written.slice(written.length - kept);
        const first = held.find((s) => s > since) ?? Infinity;
        const earlier = since > 0 && since < gen;
        const missing = written.filter((s) => s > since && !held.includes(s));
        const model = !earlier && missing.length === 0;
        expect(isComplete(since, first, seq(current, gen))).toBe(model);
      }),
      { defaultRuns: 1000 },
    );
  });
});

describe('holdsEverySeq: no hole between sinceSeq and the end of what a join ack covers', () => {
  const at = (...seqs: number[]) => seqs.map((seq) => ({ seq }));
  it('holds a range covered by messages and updates together, whatever their order', () => {
    expect(holdsEverySeq(10, 14, [at(11, 13), at(14, 12)])).toBe(true);
  });
  it('finds a hole in the middle, not only at the start', () => {
    expect(holdsEverySeq(10, 14, [at(11, 13), at(14)])).toBe(false);
  });
  it('ignores what lies outside the range and counts a seq held twice once', () => {
    expect(holdsEverySeq(10, 12, [at(9, 11, 12, 15), at(11)])).toBe(true);
    expect(holdsEverySeq(10, 13, [at(11, 11, 12)])).toBe(false);
  });
  it('holds an empty range', () => {
    expect(holdsEverySeq(10, 10, [])).toBe(true);
  });
});
