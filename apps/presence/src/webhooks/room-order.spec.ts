import { USER_WEBHOOKS_ROOM } from '@roomcast/contracts';
import { runFuzz } from '@roomcast/testing';
import fc from 'fast-check';
import { RoomOrder } from './room-order';

describe('RoomOrder', () => {
  it('holds an event until its predecessor comes, then releases both in order', () => {
    const order = new RoomOrder<string>(1000, 60_000);
    expect(order.push('r', 1, 'a1', 0)).toEqual(['a1']);
    expect(order.push('r', 3, 'a3', 1)).toEqual([]);
    expect(order.push('s', 7, 's7', 1)).toEqual(['s7']); // another room is not held
    expect(order.push('r', 2, 'a2', 2)).toEqual(['a2', 'a3']);
    expect(order.held).toBe(0);
  });

  it('sends a held event without its predecessor once the wait is over, and a late one after', () => {
    const order = new RoomOrder<string>(1000, 60_000);
    order.push('r', 1, 'a1', 0);
    order.push('r', 4, 'a4', 10);
    order.push('r', 3, 'a3', 20);
    expect(order.expire(500)).toEqual([]);
    expect(order.expire(1019)).toEqual([]); // a3, the first held, came at 20
    expect(order.expire(1020)).toEqual(['a3', 'a4']);
    expect(order.push('r', 2, 'a2', 1100)).toEqual(['a2']); // at least once before order
    expect(order.push('r', 5, 'a5', 1200)).toEqual(['a5']);
  });

  it('passes the events of no room (seq 0) at once, first or later, holding nothing', () => {
    const order = new RoomOrder<string>(1000, 60_000);
    expect(order.push(USER_WEBHOOKS_ROOM, 0, 'u1', 0)).toEqual(['u1']);
    expect(order.push(USER_WEBHOOKS_ROOM, 0, 'u2', 1)).toEqual(['u2']);
    expect(order.push(USER_WEBHOOKS_ROOM, 0, 'u2', 2)).toEqual(['u2']); // a repeat goes too
    expect(order.push('r', 5, 'r5', 3)).toEqual(['r5']);
    expect(order.push(USER_WEBHOOKS_ROOM, 0, 'u3', 4)).toEqual(['u3']);
    expect(order.held).toBe(0);
    expect(order.expire(100_000)).toEqual([]);
    // Forgotten when idle, and again at once.
    expect(order.push(USER_WEBHOOKS_ROOM, 0, 'u4', 100_001)).toEqual(['u4']);
  });

  it('forgets an idle room and starts it again at whatever comes first', () => {
    const order = new RoomOrder<string>(100, 1000);
    order.push('r', 10, 'a10', 0);
    order.expire(2000);
    expect(order.push('r', 1, 'b1', 2001)).toEqual(['b1']); // the counter started again
    expect(order.push('r', 2, 'b2', 2002)).toEqual(['b2']);
  });

  it('releases every event exactly once, each room in order, whatever the arrival order (property)', async () => {
    // Each room's events 1..n arrive shuffled within a small window, rooms interleaved.
    const arrivals = fc
      .array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 })
      .chain((sizes) =>
        fc
          .shuffledSubarray(
            sizes.flatMap((n, r) =>
              Array.from({ length: n }, (_, i) => ({ room: `r${r}`, seq: i + 1 })),
            ),
            { minLength: sizes.reduce((a, b) => a + b, 0) },
          )
          .map((events) => ({ sizes, events })),
      );
    await runFuzz(
      'room order',
      fc.property(arrivals, ({ sizes, events }) => {
        const order = new RoomOrder<{ room: string; seq: number }>(1000, 60_000);
        // Each room's first arrival must be its seq 1 for a strict order (a room starts at
        // whatever comes first); the generator's shuffle may not give that, so put it first.
        const firsts = sizes.map((_, r) => ({ room: `r${r}`, seq: 1 }));
        const rest = events.filter((e) => e.seq !== 1);
        const out: { room: string; seq: number }[] = [];
        let t = 0;
        for (const e of [...firsts, ...rest]) out.push(...order.push(e.room, e.seq, e, t++));
        out.push(...order.expire(t + 1000));
        expect(out).toHaveLength(events.length);
        for (const [r, n] of sizes.entries())
          expect(out.filter((e) => e.room === `r${r}`).map((e) => e.seq)).toEqual(
            Array.from({ length: n }, (_, i) => i + 1),
          );
        expect(order.held).toBe(0);
      }),
      { defaultRuns: 300 },
    );
  });
});
