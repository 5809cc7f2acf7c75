import { runFuzz } from '@roomcast/testing';
import fc from 'fast-check';
import { setImmediate as turn } from 'node:timers/promises';
import { GroupCommit, type ItemOutcome } from './group-commit';

/** A commit the test settles by hand: whole (ok or failed) or item by item. */
interface Batch {
  items: number[];
  settle: (outcomes: ItemOutcome<string>[] | Error) => void;
  settledAt?: number;
}

type Action =
  | { kind: 'submit'; count: number }
  | { kind: 'turn' }
  | { kind: 'settle'; how: 'ok' | 'fail' | 'partial' | 'short' };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('submit' as const), count: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('turn' as const) }),
  fc.record({
    kind: fc.constant('settle' as const),
    how: fc.constantFrom('ok' as const, 'fail' as const, 'partial' as const, 'short' as const),
  }),
);

describe('GroupCommit', () => {
  it('commits a lone item at the end of its turn, alone', async () => {
    const batches: number[][] = [];
    const commit = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      return items.map((value) => ({ status: 'fulfilled', value }));
    });
    const done = commit.submit(1);
    expect(batches).toEqual([]);
    await expect(done).resolves.toBe(1);
    expect(batches).toEqual([[1]]);
  });

  it('fails every item of a batch whose commit throws', async () => {
    const commit = new GroupCommit<number>(() => {
      throw new Error('down');
    });
    const results = await Promise.allSettled([commit.submit(1), commit.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('refuses settings that would never commit', () => {
    expect(() => new GroupCommit(async () => [], { maxItems: 0, maxWaitMs: 5 })).toThrow(
      RangeError,
    );
    expect(() => new GroupCommit(async () => [], { maxItems: 1, maxWaitMs: -1 })).toThrow(
      RangeError,
    );
  });

  // 400 cases (FUZZ_RUNS) of up to 40 actions: any interleaving of submits, turns and commits that
  // succeed, fail (a nack, a timeout) or answer per item.
  it('settles every item once, in order, never ok unless its own commit said so', async () => {
    await runFuzz(
      'GroupCommit: each item once, in order, its own commit',
      fc.asyncProperty(
        fc.array(action, { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        async (actions, maxItems) => {
          const batches: Batch[] = [];
          /** Sizes of batches started while another was in flight without being full. */
          const early: number[] = [];
          let clock = 0;
          const commit = new GroupCommit<number, string>(
            (items) =>
              new Promise((resolve, reject) => {
                const batch: Batch = {
                  items,
                  settle: (o) => {
                    batch.settledAt = ++clock;
                    if (o instanceof Error) reject(o);
                    else resolve(o);
                  },
                };
                // A batch starts only when none is in flight, or when it is full (checked after
                // the run: an expect thrown here would only reject this commit).
                const open = batches.filter((b) => b.settledAt === undefined);
                if (open.length > 0 && items.length !== maxItems) early.push(items.length);
                batches.push(batch);
              }),
            { maxItems, maxWaitMs: 60_000 },
          );
          const outcome = new Map<number, { ok: boolean; at: number }>();
          const expected = new Map<number, boolean>();
          const submitted: number[] = [];
          const running: Promise<void>[] = [];
          let next = 0;
          const settleOldest = (how: Action & { kind: 'settle' }) => {
            const batch = batches.find((b) => b.settledAt === undefined);
            if (!batch) return;
            if (how.how === 'ok' || how.how === 'fail') {
              for (const i of batch.items) expected.set(i, how.how === 'ok');
              batch.settle(
                how.how === 'ok'
                  ? batch.items.map((i) => ({ status: 'fulfilled', value: `v${i}` }))
                  : new Error('nack'),
              );
            } else if (how.how === 'partial') {
              // Odd items fail on their own (a script error), even ones succeed.
              for (const i of batch.items) expected.set(i, i % 2 === 0);
              batch.settle(
                batch.items.map((i) =>
                  i % 2 === 0
                    ? { status: 'fulfilled', value: `v${i}` }
                    : { status: 'rejected', reason: new Error('script') },
                ),
              );
            } else {
              // Too few outcomes: the items without one fail, never a false ok.
              for (const [k, i] of batch.items.entries()) expected.set(i, k === 0);
              batch.settle([{ status: 'fulfilled', value: `v${batch.items[0]}` }]);
            }
          };
          const run = async (a: Action) => {
            if (a.kind === 'submit') {
              for (let k = 0; k < a.count; k++) {
                const i = next++;
                submitted.push(i);
                running.push(
                  commit.submit(i).then(
                    (v) => {
                      expect(v).toBe(`v${i}`);
                      expect(outcome.has(i)).toBe(false);
                      outcome.set(i, { ok: true, at: clock });
                    },
                    () => {
                      expect(outcome.has(i)).toBe(false);
                      outcome.set(i, { ok: false, at: clock });
                    },
                  ),
                );
              }
            } else if (a.kind === 'turn') await turn();
            else settleOldest(a);
          };
          for (const a of actions) await run(a);
          // Drain: confirm whatever is still waiting or in flight.
          for (let guard = 0; outcome.size < submitted.length && guard < 1000; guard++) {
            await turn();
            settleOldest({ kind: 'settle', how: 'ok' });
          }
          await Promise.all(running);
          expect(early).toEqual([]);
          expect(outcome.size).toBe(submitted.length);
          // First in, first committed: the batches hold the items in submission order.
          expect(batches.flatMap((b) => b.items)).toEqual(submitted);
          for (const b of batches) {
            expect(b.items.length).toBeLessThanOrEqual(maxItems);
            for (const i of b.items) {
              // An item settles with its own commit's word, and only after that commit settled.
              expect(outcome.get(i)!.ok).toBe(expected.get(i));
              expect(outcome.get(i)!.at).toBeGreaterThanOrEqual(b.settledAt!);
            }
          }
        },
      ),
      { defaultRuns: 400 },
    );
  });
});
