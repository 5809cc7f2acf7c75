import fc from 'fast-check';
import { runFuzz } from '@roomcast/testing';
import { RoomRegistry, type RoomBinder } from './room-registry';

/** A binder whose calls take a while, like a broker round trip, and which records them. */
function slowBinder(delayMs = 5) {
  const calls: string[] = [];
  const bound = new Set<string>();
  let fail = false;
  const binder: RoomBinder = {
    bind: async (room) => {
      calls.push(`bind ${room}`);
      await new Promise((r) => setTimeout(r, delayMs));
      if (fail) throw new Error('broker down');
      bound.add(room);
    },
    unbind: async (room) => {
      calls.push(`unbind ${room}`);
      await new Promise((r) => setTimeout(r, delayMs));
      bound.delete(room);
    },
  };
  return { binder, calls, bound, failNext: (v: boolean) => (fail = v) };
}

describe('RoomRegistry', () => {
  it('binds on the first local member only and unbinds after the last leaves', async () => {
    const b = slowBinder();
    const reg = new RoomRegistry(b.binder);
    await reg.add('general', 's1');
    await reg.add('general', 's2');
    await reg.remove('general', 's1');
    expect(b.bound.has('general')).toBe(true);
    await reg.remove('general', 's2');
    expect(b.bound.has('general')).toBe(false);
    expect(b.calls).toEqual(['bind general', 'unbind general']);
  });

  it('ends bound after a rapid join, leave, join', async () => {
    const b = slowBinder();
    const reg = new RoomRegistry(b.binder);
    const ops = [reg.add('r', 's1'), reg.remove('r', 's1'), reg.add('r', 's1')];
    await Promise.all(ops);
    expect(reg.has('r')).toBe(true);
    expect(b.bound.has('r')).toBe(true);
  });

  it('ends unbound after a rapid join, leave, join, leave', async () => {
    const b = slowBinder();
    const reg = new RoomRegistry(b.binder);
    await Promise.all([
      reg.add('r', 's1'),
      reg.remove('r', 's1'),
      reg.add('r', 's2'),
      reg.remove('r', 's2'),
    ]);
    expect(b.bound.has('r')).toBe(false);
  });

  it('ends bound with members present under many interleavings', async () => {
    const b = slowBinder(1);
    const reg = new RoomRegistry(b.binder);
    const ops: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      ops.push(reg.add('r', `s${i % 3}`));
      if (i % 2) ops.push(reg.remove('r', `s${(i + 1) % 3}`));
    }
    await Promise.all(ops);
    expect(b.bound.has('r')).toBe(reg.has('r'));
  });

  it('rejects the join when the bind fails, and tries again on the next join', async () => {
    const b = slowBinder();
    const reg = new RoomRegistry(b.binder);
    b.failNext(true);
    await expect(reg.add('r', 's1')).rejects.toThrow('broker down');
    expect(b.bound.has('r')).toBe(false);
    b.failNext(false);
    await reg.add('r', 's2');
    expect(b.bound.has('r')).toBe(true);
  });

  it('ignores the removal of a socket that is not a member', async () => {
    const b = slowBinder();
    const reg = new RoomRegistry(b.binder);
    await reg.remove('r', 'nobody');
    expect(b.calls).toEqual([]);
  });

  describe('lingering bindings (UNBIND_LINGER_MS)', () => {
    afterEach(() => jest.useRealTimers());

    /** A binder that answers at once, and records its calls. */
    function quickBinder() {
      const calls: string[] = [];
      const bound = new Set<string>();
      const binder: RoomBinder = {
        bind: async (room) => void (calls.push(`bind ${room}`), bound.add(room)),
        unbind: async (room) => void (calls.push(`unbind ${room}`), bound.delete(room)),
      };
      return { binder, calls, bound };
    }

    it('keeps a room bound for the linger after its last member leaves, then unbinds it', async () => {
      jest.useFakeTimers();
      const b = quickBinder();
      const reg = new RoomRegistry(b.binder, 5000);
      await reg.add('r', 's1');
      await reg.remove('r', 's1');
      expect(reg.has('r')).toBe(false);
      expect(reg.isBound('r')).toBe(true);
      expect(b.bound.has('r')).toBe(true);
      await jest.advanceTimersByTimeAsync(4999);
      expect(b.bound.has('r')).toBe(true);
      await jest.advanceTimersByTimeAsync(1);
      expect(b.bound.has('r')).toBe(false);
      expect(reg.isBound('r')).toBe(false);
      expect(b.calls).toEqual(['bind r', 'unbind r']);
    });

    it('costs no broker operation when a member comes back within the linger', async () => {
      jest.useFakeTimers();
      const b = quickBinder();
      const reg = new RoomRegistry(b.binder, 5000);
      await reg.add('r', 's1');
      for (let i = 0; i < 10; i++) {
        await reg.remove('r', `s${i + 1}`);
        await jest.advanceTimersByTimeAsync(3000);
        await reg.add('r', `s${i + 2}`);
      }
      await jest.advanceTimersByTimeAsync(60_000);
      expect(b.calls).toEqual(['bind r']);
      expect(reg.lingeringCount).toBe(0);
    });

    it('ends bound exactly when a member is present or the last left less than the linger ago, in any order of joins, leaves and time (property)', async () => {
      type Op = { t: 'add' | 'remove'; room: number; socket: number } | { t: 'wait'; ms: number };
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ t: fc.constant('add' as const), room: fc.nat(2), socket: fc.nat(3) }),
        fc.record({ t: fc.constant('remove' as const), room: fc.nat(2), socket: fc.nat(3) }),
        fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 2500 }) }),
      );
      await runFuzz(
        'room registry linger',
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
          jest.useFakeTimers();
          try {
            const b = quickBinder();
            const reg = new RoomRegistry(b.binder, 1000);
            const members = new Map<string, Set<number>>();
            const lastLeft = new Map<string, number>();
            let now = 0;
            for (const o of ops) {
              if (o.t === 'wait') {
                await jest.advanceTimersByTimeAsync(o.ms);
                now += o.ms;
                continue;
              }
              const room = `r${o.room}`;
              const set = members.get(room) ?? new Set<number>();
              members.set(room, set);
              if (o.t === 'add') {
                set.add(o.socket);
                await reg.add(room, `s${o.socket}`);
              } else {
                if (set.delete(o.socket) && set.size === 0) lastLeft.set(room, now);
                await reg.remove(room, `s${o.socket}`);
              }
            }
            await jest.advanceTimersByTimeAsync(0);
            for (const [room, set] of members) {
              const left = lastLeft.get(room);
              const wanted = set.size > 0 || (left !== undefined && now - left < 1000);
              expect({ room, bound: b.bound.has(room) }).toEqual({ room, bound: wanted });
              expect(reg.isBound(room)).toBe(wanted);
            }
            // Binds and unbinds of a room alternate, starting with a bind.
            for (const room of members.keys()) {
              const mine = b.calls.filter((c) => c.endsWith(` ${room}`));
              mine.forEach((c, i) => expect(c.startsWith(i % 2 ? 'unbind' : 'bind')).toBe(true));
            }
            // After the linger, nothing without members stays bound.
            await jest.advanceTimersByTimeAsync(1000);
            for (const [room, set] of members) expect(b.bound.has(room)).toBe(set.size > 0);
          } finally {
            jest.useRealTimers();
          }
        }),
        { defaultRuns: 300, timeLimitMs: 20_000 },
      );
    });
  });
});
