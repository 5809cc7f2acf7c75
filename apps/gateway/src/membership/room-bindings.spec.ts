import type { Message } from '@roomcast/contracts';
import { RoomSequencer } from '../fanout/room-sequencer';
import { MemoryRoomTraffic } from '../testing/memory-ports';
import { RoomBindings } from './room-bindings';

function setup(currentSeq: () => Promise<number>) {
  const traffic = new MemoryRoomTraffic();
  const emitted: Message[] = [];
  const sequencer = new RoomSequencer({
    emit: (m) => emitted.push(m as Message),
    currentSeq: () => currentSeq(),
    fetch: async () => [],
    gapMs: 60000,
  });
  let gauge = 0;
  const bindings = new RoomBindings(traffic, sequencer, {
    inc: () => void gauge++,
    dec: () => void gauge--,
  });
  return { traffic, sequencer, bindings, emitted, gauge: () => gauge };
}

describe('RoomBindings', () => {
  it('binds before it reads the seq, so nothing published after the read is missed', async () => {
    const order: string[] = [];
    const t = setup(async () => {
      order.push(`read seq (bound: ${t.traffic.bound.has('r')})`);
      return 7;
    });
    await t.bindings.bind('r');
    expect(order).toEqual(['read seq (bound: true)']);
    expect(t.sequencer.lastSeq('r')).toBe(7);
    expect(t.gauge()).toBe(1);
  });

  it('unbinds again when the seq cannot be read, and counts nothing', async () => {
    const t = setup(async () => {
      throw new Error('redis down');
    });
    await expect(t.bindings.bind('r')).rejects.toThrow('redis down');
    expect(t.traffic.bound.has('r')).toBe(false);
    expect(t.sequencer.lastSeq('r')).toBe(0);
    expect(t.gauge()).toBe(0);
  });

  it('fails a bind the broker refuses without reading the seq', async () => {
    let reads = 0;
    const t = setup(async () => ++reads);
    t.traffic.failNext.bind = true;
    await expect(t.bindings.bind('r')).rejects.toThrow('bind failed');
    expect(reads).toBe(0);
    expect(t.gauge()).toBe(0);
  });

  it('stops ordering and counts down on unbind; a failed unbind stays counted', async () => {
    const t = setup(async () => 3);
    await t.bindings.bind('a');
    await t.bindings.bind('b');
    expect(t.gauge()).toBe(2);
    await t.bindings.unbind('a');
    expect(t.traffic.bound.has('a')).toBe(false);
    expect(t.sequencer.lastSeq('a')).toBe(0);
    t.traffic.failNext.unbind = true;
    await expect(t.bindings.unbind('b')).rejects.toThrow('unbind failed');
    expect(t.gauge()).toBe(1);
  });
});
