import fc from 'fast-check';
import { setImmediate as turn } from 'node:timers/promises';
import type { Message, RoomEnvelope, RoomEntry } from '@roomcast/contracts';
import { RoomFanout, RoomWriter, WriteUnavailable } from '@roomcast/delivery';
import type { RoomHistory } from '@roomcast/store';
import { runFuzz } from '@roomcast/testing';

/**
 * The gateway's write path as it runs (RoomWriter over RoomFanout's group commit) against a log
 * that numbers each room's entries in call order, as the append scripts do, and a broker whose
 * confirms the test gives, refuses (a nack) or lets time out.
 */
function setup() {
  const seqs = new Map<string, number>();
  let redisDown = false;
  const next = (room: string) => {
    if (redisDown) throw new Error('ECONNREFUSED');
    const seq = (seqs.get(room) ?? 0) + 1;
    seqs.set(room, seq);
    return seq;
  };
  const log = {
    appendMessage: async (draft: Omit<Message, 'seq'>) => {
      const seq = next(draft.room);
      return { ack: { id: draft.id, seq, ts: draft.ts }, duplicate: false, prev: seq - 1, hook: 0 };
    },
    appendUpdate: async (draft: { room: string; id: string }) => {
      const seq = next(draft.room);
      return {
        status: 'ok',
        update: { ...draft, seq, targetSeq: 1, kind: 'react', emoji: 'x', on: true },
        prev: seq - 1,
      };
    },
  } as unknown as RoomHistory;
  const sent: {
    body: RoomEnvelope;
    settled?: 'ok' | 'failed';
    at?: number;
    settle: (ok: boolean) => void;
  }[] = [];
  let clock = 0;
  const fanout = new RoomFanout(
    (_key, body) =>
      new Promise<void>((resolve, reject) => {
        const message = {
          body,
          settle: (ok: boolean) => {
            message.settled = ok ? ('ok' as const) : ('failed' as const);
            message.at = ++clock;
            if (ok) resolve();
            else reject(new Error(Math.random() < 0.5 ? 'nack' : 'confirm timeout'));
          },
        } as (typeof sent)[number];
        sent.push(message);
      }),
    { maxItems: 8, maxWaitMs: 60_000 },
  );
  const writer = new RoomWriter(log, fanout);
  return {
    writer,
    sent,
    now: () => clock,
    setRedisDown: (down: boolean) => void (redisDown = down),
  };
}

const entriesOf = (body: RoomEnvelope): RoomEntry[] => (body.t === 'batch' ? body.items : [body]);
const seqOf = (e: RoomEntry) =>
  e.t === 'message' ? e.message.seq : e.t === 'update' ? e.update.seq : -1;
const roomOf = (e: RoomEntry) =>
  e.t === 'message' ? e.message.room : e.t === 'update' ? e.update.room : '';

type Step =
  | { kind: 'send' | 'react'; room: number }
  | { kind: 'turn' }
  | { kind: 'confirm'; ok: boolean }
  | { kind: 'redis'; down: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constantFrom('send' as const, 'react' as const),
      room: fc.integer({ min: 0, max: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('turn' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('confirm' as const), ok: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('redis' as const), down: fc.boolean() }) },
);

jest.setTimeout(60_000);

describe('the write path (RoomWriter over RoomFanout)', () => {
  // 300 cases (FUZZ_RUNS) of up to 60 steps over 5 rooms.
  it('keeps each room in seq order, acks only after the confirm, never ok for a failed batch', async () => {
    await runFuzz(
      'write path: seq order, ack after confirm',
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const { writer, sent, now, setRedisDown } = setup();
        const writes: Promise<void>[] = [];
        const acked: { room: string; seq: number; at: number }[] = [];
        const failures: unknown[] = [];
        let n = 0;
        const confirmOldest = (ok: boolean) => sent.find((m) => !m.settled)?.settle(ok);
        for (const s of steps) {
          if (s.kind === 'turn') await turn();
          else if (s.kind === 'confirm') confirmOldest(s.ok);
          else if (s.kind === 'redis') setRedisDown(s.down);
          else {
            const room = `r${s.room}`;
            const user = { id: 'u', name: 'U' };
            const id = `m${n++}`;
            const write =
              s.kind === 'send'
                ? writer
                    .accept({ id, room, text: 't', user, ts: 1, serverId: 'g1' })
                    .then(({ ack }) => ack.seq)
                : writer
                    .acceptUpdate({
                      room,
                      id: 'm0',
                      kind: 'react',
                      emoji: 'x',
                      on: true,
                      user,
                      ts: 1,
                    })
                    .then((ack) => ack.seq);
            writes.push(
              write.then(
                (seq) => void acked.push({ room, seq, at: now() }),
                (err: unknown) => void failures.push(err),
              ),
            );
          }
        }
        // Drain: confirm whatever is still waiting or in flight until every write is answered.
        for (
          let guard = 0;
          guard < 500 && acked.length + failures.length < writes.length;
          guard++
        ) {
          await turn();
          confirmOldest(true);
        }
        await Promise.all(writes);
        // Each room's entries leave in seq order, across and within broker messages.
        const last = new Map<string, number>();
        for (const m of sent) {
          for (const e of entriesOf(m.body)) {
            expect(seqOf(e)).toBeGreaterThan(last.get(roomOf(e)) ?? 0);
            last.set(roomOf(e), seqOf(e));
          }
        }
        // An ack only once the broker message carrying it was confirmed, never for a failed one.
        for (const a of acked) {
          const carrier = sent.find((m) =>
            entriesOf(m.body).some((e) => roomOf(e) === a.room && seqOf(e) === a.seq),
          );
          expect(carrier?.settled).toBe('ok');
          expect(a.at).toBeGreaterThanOrEqual(carrier!.at!);
        }
        // Every write not acked failed as UNAVAILABLE's cause: Redis or the broker, by name.
        expect(acked.length + failures.length).toBe(writes.length);
        for (const f of failures) {
          expect(f).toBeInstanceOf(WriteUnavailable);
        }
        const failedEntries = sent
          .filter((m) => m.settled === 'failed')
          .reduce((k, m) => k + entriesOf(m.body).length, 0);
        const brokerFailures = failures.filter(
          (f) => (f as WriteUnavailable).dependency === 'the message broker',
        ).length;
        expect(brokerFailures).toBe(failedEntries);
      }),
      { defaultRuns: 300 },
    );
  });
});
