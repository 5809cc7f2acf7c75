import type { Message } from '@roomcast/contracts';
import { waitFor } from '@roomcast/testing';
import { RoomSequencer } from './room-sequencer';

const msg = (seq: number, room = 'r'): Message => ({
  id: `m${seq}`,
  room,
  seq,
  text: `t${seq}`,
  user: { id: 'u', name: 'U' },
  ts: 0,
  serverId: 'g',
});

/** A sequencer over an in-memory "history" holding seqs 1..current. */
function setup(current = 0, gapMs = 20) {
  const emitted: number[] = [];
  const history = new Map<number, Message>();
  for (let s = 1; s <= current; s++) history.set(s, msg(s));
  let seq = current;
  let duplicates = 0;
  const sequencer = new RoomSequencer({
    emit: (m) => emitted.push(m.seq),
    currentSeq: async () => seq,
    fetch: async (_room, after, before) =>
      [...history.values()]
        .filter((m) => m.seq > after && m.seq < before)
        .sort((a, b) => a.seq - b.seq),
    gapMs,
    onDuplicate: () => duplicates++,
  });
  const append = (s: number) => {
    history.set(s, msg(s));
    seq = Math.max(seq, s);
    return msg(s);
  };
  return { sequencer, emitted, append, history, dupes: () => duplicates };
}

describe('RoomSequencer', () => {
  it('emits in seq order from after the seq current at start', async () => {
    const t = setup(5);
    await t.sequencer.start('r');
    t.sequencer.accept(t.append(6));
    t.sequencer.accept(t.append(7));
    expect(t.emitted).toEqual([6, 7]);
    expect(t.sequencer.lastSeq('r')).toBe(7);
  });

  it('holds a message that came early until the one before it arrives', async () => {
    const t = setup(0, 1000);
    await t.sequencer.start('r');
    const m1 = t.append(1);
    const m2 = t.append(2);
    const m3 = t.append(3);
    t.sequencer.accept(m3);
    t.sequencer.accept(m2);
    expect(t.emitted).toEqual([]);
    t.sequencer.accept(m1);
    expect(t.emitted).toEqual([1, 2, 3]);
  });

  it('fills a gap from history when the missing message does not come', async () => {
    const t = setup(0, 10);
    await t.sequencer.start('r');
    t.append(1); // accepted, but its broker delivery is lost
    t.sequencer.accept(t.append(2));
    await waitFor(() => t.emitted.length === 2, 2000, 'the gap fill');
    expect(t.emitted).toEqual([1, 2]);
  });

  it('drops a seq it already emitted, so a republished retry is delivered once', async () => {
    const t = setup(0);
    await t.sequencer.start('r');
    const m1 = t.append(1);
    t.sequencer.accept(m1);
    t.sequencer.accept(m1);
    expect(t.emitted).toEqual([1]);
    expect(t.dupes()).toBe(1);
  });

  it('buffers what arrives before start and drops what start says is old', async () => {
    const t = setup(3);
    t.sequencer.accept(msg(3)); // already in history when start reads the seq: the joiner has it
    t.sequencer.accept(msg(4)); // published after the read
    expect(t.emitted).toEqual([]);
    await t.sequencer.start('r');
    expect(t.emitted).toEqual([4]);
    expect(t.dupes()).toBe(1);
  });

  it('skips past a seq history no longer holds', async () => {
    const t = setup(0, 10);
    await t.sequencer.start('r');
    t.append(1);
    t.history.delete(1); // trimmed by retention
    t.sequencer.accept(t.append(2));
    await waitFor(() => t.emitted.length === 1, 2000, 'the skip');
    expect(t.emitted).toEqual([2]);
  });

  it('catches up from history after a lost broker link', async () => {
    const t = setup(0, 1000);
    await t.sequencer.start('r');
    t.sequencer.accept(t.append(1));
    t.append(2);
    t.append(3);
    await t.sequencer.catchUp('r');
    expect(t.emitted).toEqual([1, 2, 3]);
  });

  it('keeps rooms apart and forgets a stopped room', async () => {
    const t = setup(0);
    await t.sequencer.start('r');
    await t.sequencer.start('other');
    t.sequencer.accept(msg(1, 'other'));
    t.sequencer.stop('other');
    expect(t.sequencer.lastSeq('other')).toBe(0);
    expect(t.sequencer.lastSeq('r')).toBe(0);
    expect(t.emitted).toEqual([1]);
  });

  it('emits the first message of a new generation at once, without a gap fill', async () => {
    const t = setup(11, 60000);
    await t.sequencer.start('r');
    // Redis lost the counter: the next send starts a generation far above 11, with prev 0.
    t.sequencer.accept(t.append(1_800_000_000_001), 0);
    t.sequencer.accept(t.append(1_800_000_000_002), 1_800_000_000_001);
    expect(t.emitted).toEqual([1_800_000_000_001, 1_800_000_000_002]);
    // An old seq arriving late is a duplicate: it can never be mistaken for a new message.
    t.sequencer.accept(msg(12), 11);
    expect(t.emitted).toHaveLength(2);
    expect(t.dupes()).toBe(1);
  });

  it('still waits for a gap inside a generation when prev was not emitted', async () => {
    const t = setup(0, 60000);
    await t.sequencer.start('r');
    t.sequencer.accept(t.append(500), 0);
    t.sequencer.accept(t.append(502), 501);
    expect(t.emitted).toEqual([500]);
    t.sequencer.accept(t.append(501), 500);
    expect(t.emitted).toEqual([500, 501, 502]);
  });

  it('orders the first two messages of a new room that arrive the wrong way round, at once', async () => {
    const t = setup(0, 60000);
    await t.sequencer.start('r');
    const second = t.append(9_001);
    const first = t.append(9_000);
    t.sequencer.accept(second, 9_000);
    t.sequencer.accept(first, 0);
    expect(t.emitted).toEqual([9_000, 9_001]);
  });
});
