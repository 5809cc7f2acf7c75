import fc from 'fast-check';
import type { Message, Update } from '@roomcast/contracts';
import type { JoinSnapshot } from '@roomcast/store';
import { runFuzz } from '@roomcast/testing';
import { boundJoinAck, JOIN_ACK_BYTES } from './join-ack';

const LIMITS = { history: 100, updates: 500 };
const user = { id: 'u', name: 'U' };

/** A snapshot of `sizes.length` messages and `updates` updates with the given stored sizes. */
function snapshot(
  sizes: number[],
  updates: { bytes: number; before: boolean }[],
  updatesOverBudget = false,
): JoinSnapshot {
  const history = sizes.map((_, i): Message => ({
    id: `m${i}`,
    room: 'r',
    seq: 1000 + i,
    text: '',
    user,
    ts: 0,
    serverId: 'g',
  }));
  const changes = updates.map((u, i): Update => ({
    room: 'r',
    seq: 5000 + i,
    id: 'x',
    targetSeq: u.before ? 10 : 2000,
    user,
    ts: 0,
    kind: 'edit',
  }));
  return {
    history,
    updates: changes,
    seq: { current: 9000, gen: 0 },
    historyBytes: sizes,
    updateBytes: updates.map((u) => u.bytes),
    updatesOverBudget,
  };
}

const sizes = fc.array(fc.integer({ min: 50, max: 60_000 }), { maxLength: 101 });
const changes = fc.array(
  fc.record({ bytes: fc.integer({ min: 50, max: 20_000 }), before: fc.boolean() }),
  { maxLength: 501 },
);
const size = (xs: number[]) => xs.reduce((n, b) => n + b, 0);

describe('boundJoinAck: the join ack within its counts and bytes', () => {
  it('never passes the byte bound but for one message, keeps whole oldest (sinceSeq) or newest messages, and gives the updates whole or none', async () => {
    await runFuzz(
      'join ack bound',
      fc.property(
        sizes,
        changes,
        fc.option(fc.constant(100), { nil: undefined }),
        // The store stopped reading updates past its byte budget.
        fc.boolean(),
        (s, u, since, over) => {
          const snap = snapshot(s, u, over);
          const out = boundJoinAck(snap, since, LIMITS);
          const kept = out.history.map((m) => snap.historyBytes[snap.history.indexOf(m)]);
          const updateBytes = out.updates.map((x) => snap.updateBytes[snap.updates.indexOf(x)]);
          const total = size(kept) + size(updateBytes);
          if (out.history.length > 1 || out.updates.length > 0)
            expect(total).toBeLessThanOrEqual(JOIN_ACK_BYTES);
          if (since === undefined) {
            // The newest messages, contiguous, and no updates.
            expect(out.history).toEqual(
              snap.history.slice(snap.history.length - out.history.length),
            );
            expect(out.updates).toEqual([]);
            return;
          }
          // The oldest messages, contiguous; `more` whenever some were left out.
          expect(out.history).toEqual(snap.history.slice(0, out.history.length));
          expect(out.more).toBe(out.history.length < s.length);
          expect(out.history.length).toBeLessThanOrEqual(LIMITS.history);
          if (s.length > 0) expect(out.history.length).toBeGreaterThan(0);
          // Updates: every one to a message at or before sinceSeq, or none with updatesCut.
          const due = snap.updates.slice(0, LIMITS.updates).filter((x) => x.targetSeq <= since);
          if (out.updatesCut) expect(out.updates).toEqual([]);
          else expect(out.updates).toEqual(due);
          // Cut only when they did not fit in count or bytes.
          const dueBytes = size(due.map((x) => snap.updateBytes[snap.updates.indexOf(x)]));
          expect(out.updatesCut).toBe(
            over || u.length > LIMITS.updates || size(kept) + dueBytes > JOIN_ACK_BYTES,
          );
        },
      ),
      { defaultRuns: 300 },
    );
  });
});
