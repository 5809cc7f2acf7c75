import { USER_WEBHOOKS_ROOM } from '@roomcast/contracts';
import { runFuzz } from '@roomcast/testing';
import fc from 'fast-check';
import { RoomParking } from './room-parking';

describe('RoomParking', () => {
  it('parks the newer events of a room with a parked one, and no other room', () => {
    const p = new RoomParking();
    p.parked('r', 1, 0); // refused: waits in the wait queue
    expect(p.decide('r', 2, 0, 0)).toBe('park');
    p.parked('r', 2, 0);
    expect(p.decide('s', 9, 0, 0)).toBe('send'); // another room goes on
    // 2 comes back first (1 was re-parked behind it): not its turn.
    p.returned('r', 2);
    expect(p.decide('r', 2, 0, 0)).toBe('park');
    p.parked('r', 2, 0);
    // 1 comes back before its next attempt is due, then after.
    p.returned('r', 1);
    expect(p.decide('r', 1, 500, 100)).toBe('park');
    p.parked('r', 1, 0);
    p.returned('r', 1);
    expect(p.decide('r', 1, 500, 600)).toBe('send');
    // Delivered: 2 is now the oldest.
    p.returned('r', 2);
    expect(p.decide('r', 2, 0, 700)).toBe('send');
    expect(p.size).toBe(0);
    expect(p.roomCount).toBe(0);
  });

  it('a parked event of no room (seq 0) holds up none of the others, which are not ordered', () => {
    const p = new RoomParking();
    const u = USER_WEBHOOKS_ROOM;
    p.parked(u, 0, 0); // one revocation refused
    expect(p.decide(u, 0, 0, 10)).toBe('send'); // another goes on
    p.parked(u, 0, 10); // and is refused too: two parked
    expect(p.size).toBe(2);
    p.returned(u, 0);
    expect(p.decide(u, 0, 500, 100)).toBe('park'); // back before its next attempt is due
    p.parked(u, 0, 100);
    p.returned(u, 0);
    expect(p.decide(u, 0, 0, 200)).toBe('send');
    p.returned(u, 0);
    expect(p.size).toBe(0);
    expect(p.roomCount).toBe(0);
  });

  it('parks everything until it has seen what the queues held and a park period passed', () => {
    const p = new RoomParking();
    p.learn(0, 2, 100, 10_000);
    expect(p.decide('r', 5, 0, 10)).toBe('park');
    p.parked('r', 5, 10);
    expect(p.decide('r', 5, 0, 20)).toBe('park'); // the same one again: one seen
    expect(p.decide('r', 3, 0, 30)).toBe('park');
    p.parked('r', 3, 30);
    expect(p.decide('r', 5, 0, 99)).toBe('park'); // both seen, but not a period yet
    p.parked('r', 5, 99);
    p.returned('r', 5);
    expect(p.decide('r', 5, 0, 100)).toBe('park'); // learned: 3 goes first
    p.returned('r', 3);
    expect(p.decide('r', 3, 0, 110)).toBe('send');
  });

  it('stops learning when nothing new came for a period (repeats), or after maxMs', () => {
    const p = new RoomParking();
    p.learn(0, 3, 100, 1000);
    expect(p.decide('r', 1, 0, 50)).toBe('park');
    expect(p.decide('r', 1, 0, 149)).toBe('park'); // the same one again: nothing new since 50
    expect(p.decide('r', 1, 0, 150)).toBe('send');
    const q = new RoomParking();
    q.learn(0, 1000, 100, 1000);
    for (let t = 0; t < 1000; t += 50) expect(q.decide('r', t, 0, t)).toBe('park');
    expect(q.decide('s', 1, 0, 1000)).toBe('send');
  });

  it('takes a parked event not back after staleMs as gone', () => {
    const p = new RoomParking(1000);
    p.parked('r', 1, 0);
    expect(p.decide('r', 2, 0, 1000)).toBe('park');
    expect(p.decide('r', 2, 0, 1001)).toBe('send');
    expect(p.size).toBe(0);
  });

  it('counts repeats: a copy of a parked event does not unpark the other', () => {
    const p = new RoomParking();
    p.parked('r', 3, 0);
    p.parked('r', 3, 0);
    p.returned('r', 3);
    expect(p.decide('r', 4, 0, 0)).toBe('park');
    p.returned('r', 3);
    expect(p.decide('r', 4, 0, 0)).toBe('send');
  });

  /**
   * A room's events through a model of the broker (the backlog a FIFO, parked events appended
   * to it as the wait queue hands them back) under any pattern of refusals: each event ends
   * (delivered or dead-lettered) exactly once, in the room's order.
   */
  it('ends every event once and in order, whatever the receiver refuses (300 runs)', async () => {
    await runFuzz(
      'room parking',
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 4 }),
        (n, answers, maxAttempts) => {
          const p = new RoomParking();
          const queue = Array.from({ length: n }, (_, i) => ({
            seq: i + 1,
            back: false,
            tries: 0,
          }));
          const ended: number[] = [];
          let a = 0;
          for (let step = 0; queue.length > 0 && step < 10_000; step++) {
            const e = queue.shift()!;
            if (e.back) p.returned('r', e.seq);
            if (p.decide('r', e.seq, 0, step) === 'send') {
              const ok = answers[a++ % answers.length];
              if (ok || ++e.tries >= maxAttempts) {
                ended.push(e.seq);
                continue;
              }
            }
            p.parked('r', e.seq, step);
            queue.push({ ...e, back: true });
          }
          expect(ended).toEqual(Array.from({ length: n }, (_, i) => i + 1));
          expect(p.size).toBe(0);
        },
      ),
      { defaultRuns: 300 },
    );
  });
});
