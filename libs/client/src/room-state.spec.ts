import type { Message, Update } from './protocol';
import { applyUpdate, MessageLog, withMine } from './room-state';
import { restarted } from './room';

const ann = { id: 'u-ann', name: 'ann' };
const bob = { id: 'u-bob', name: 'bob' };

const msg = (seq: number, text = `m${seq}`): Message => ({
  id: `id${seq}`,
  room: 'r',
  seq,
  text,
  user: ann,
  ts: seq,
  serverId: 's',
});
const upd = (seq: number, targetSeq: number, extra: Partial<Update>): Update => ({
  room: 'r',
  seq,
  id: `id${targetSeq}`,
  targetSeq,
  user: ann,
  ts: 1000 + seq,
  kind: 'edit',
  ...extra,
});

describe('MessageLog', () => {
  it('holds each seq once, in seq order, whatever order they come in', () => {
    const log = new MessageLog();
    expect([5, 2, 9, 2, 5, 7].map((s) => log.add(msg(s)))).toEqual([
      true,
      true,
      true,
      false,
      false,
      true,
    ]);
    expect(log.messages.map((m) => m.seq)).toEqual([2, 5, 7, 9]);
    expect([log.first, log.last]).toEqual([2, 9]);
  });

  it('keeps the held copy of a repeated seq (with its updates), unless told to replace it', () => {
    const log = new MessageLog();
    log.add(msg(1));
    log.update(upd(2, 1, { text: 'edited' }));
    log.add(msg(1, 'stale'));
    expect(log.get(1)?.text).toBe('edited');
    log.add(msg(1, 'reloaded'), true);
    expect(log.get(1)?.text).toBe('reloaded');
  });

  it('applies an update once, and never one older than the last applied', () => {
    const log = new MessageLog();
    log.add(msg(1));
    expect(log.update(upd(3, 1, { text: 'second' }))).toBe(true);
    expect(log.update(upd(3, 1, { text: 'second' }))).toBe(false);
    expect(log.update(upd(2, 1, { text: 'first' }))).toBe(false);
    expect(log.get(1)?.text).toBe('second');
    expect(log.update(upd(4, 99, { text: 'no target' }))).toBe(false);
  });

  it('drops the oldest messages past its limit', () => {
    const log = new MessageLog(3);
    for (const s of [1, 2, 3, 4, 5]) log.add(msg(s));
    expect(log.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
  });
});

describe('applyUpdate', () => {
  it('edits the text, and a superseded edit (no text) changes nothing', () => {
    const edited = applyUpdate(msg(1), upd(2, 1, { text: 'new' }));
    expect(edited).toMatchObject({ text: 'new', editedAt: 1002 });
    expect(applyUpdate(edited, upd(3, 1, {}))).toBe(edited);
  });

  it('deletes for good: no text, no reactions, no further change', () => {
    const reacted = applyUpdate(
      msg(1),
      upd(2, 1, { kind: 'react', emoji: '👍', on: true, count: 1 }),
    );
    const deleted = applyUpdate(reacted, upd(3, 1, { kind: 'delete' }));
    expect(deleted).toMatchObject({ text: '', deleted: true });
    expect(deleted.reactions).toBeUndefined();
    expect(applyUpdate(deleted, upd(4, 1, { text: 'back' }))).toBe(deleted);
  });

  it("takes a reaction's count from the server, names its user once, and tracks the caller's own", () => {
    let m = withMine(msg(1), { id1: ['🎉'] });
    expect(m.mine).toEqual(['🎉']);
    m = applyUpdate(
      m,
      upd(2, 1, { kind: 'react', user: bob, emoji: '👍', on: true, count: 7 }),
      'u-ann',
    );
    m = applyUpdate(
      m,
      upd(3, 1, { kind: 'react', user: bob, emoji: '👍', on: true, count: 7 }),
      'u-ann',
    );
    m = applyUpdate(m, upd(4, 1, { kind: 'react', emoji: '👍', on: true, count: 8 }), 'u-ann');
    expect(m.reactions).toEqual({ '👍': { count: 8, users: ['u-bob', 'u-ann'] } });
    expect(m.mine).toEqual(['🎉', '👍']);
    m = applyUpdate(m, upd(5, 1, { kind: 'react', emoji: '👍', on: false, count: 7 }), 'u-ann');
    expect(m.reactions).toEqual({ '👍': { count: 7, users: ['u-bob'] } });
    expect(m.mine).toEqual(['🎉']);
  });

  it('takes __proto__ as an emoji like any other', () => {
    const m = applyUpdate(
      msg(1),
      upd(2, 1, { kind: 'react', emoji: '__proto__', on: true, count: 1 }),
    );
    expect(Object.keys(m.reactions!)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(m.reactions)).toBe(Object.prototype);
  });
});

describe('restarted (why a rejoin could not recover everything)', () => {
  const t = 1_765_000_000_000; // ms
  it('is a new counter: more than a million seqs ahead, and no earlier than the entry held', () => {
    // The old life began an hour before its last entry; the new one at the clock, later.
    expect(restarted((t - 3_600_000) * 1000 + 50, (t + 2000) * 1000 + 1, t)).toBe(true);
  });
  it('is retention in an old room: a later seq of the same life', () => {
    expect(restarted((t - 3_600_000) * 1000 + 50, (t - 3_600_000) * 1000 + 5000, t)).toBe(false);
  });
  it('is retention in a room whose counter began with the entry held (seq ~ its ts)', () => {
    expect(restarted(t * 1000 + 1, t * 1000 + 61, t)).toBe(false);
  });
  it('is retention after a million entries of an old room: ahead, but behind the clock', () => {
    expect(restarted((t - 86_400_000) * 1000 + 5, (t - 86_400_000) * 1000 + 2_000_000, t)).toBe(
      false,
    );
  });
});
