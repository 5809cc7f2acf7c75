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
});
