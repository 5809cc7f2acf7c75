import type { Message, Update, User } from '@roomcast/contracts';
import { runFuzz } from '@roomcast/testing';
import fc from 'fast-check';
import { applyUpdate, badgeText, reactionOf, UNREAD_CAP } from '../../web/src/room-state';

/**
 * The web client's pure room state (web/src/room-state.ts): how a room's badge reads and what a
 * message shows once edits, deletions and reactions are applied, including an update that reaches
 * the page twice (live, then again in a rejoin's `updates`).
 */

const ann: User = { id: 'ann', name: 'Ann' };
const bob: User = { id: 'bob', name: 'Bob' };

function message(extra: Partial<Message> = {}): Message {
  return {
    id: 'm1',
    room: 'lobby',
    seq: 7,
    text: 'hello',
    user: ann,
    ts: 1000,
    serverId: 'g1',
    ...extra,
  };
}

let nextSeq = 100;
function update(kind: Update['kind'], extra: Partial<Update> = {}): Update {
  return {
    room: 'lobby',
    seq: nextSeq++,
    id: 'm1',
    targetSeq: 7,
    user: ann,
    ts: 2000,
    kind,
    ...extra,
  };
}
const react = (user: User, emoji: string, on: boolean, count?: number) =>
  update('react', { user, emoji, on, ...(count === undefined ? {} : { count }) });

/** The message frozen all the way down: applyUpdate must leave what the page shows untouched. */
function frozen(m: Message): Message {
  for (const r of Object.values(m.reactions ?? {})) Object.freeze(r.users);
  for (const r of Object.values(m.reactions ?? {})) Object.freeze(r);
  if (m.reactions) Object.freeze(m.reactions);
  return Object.freeze(m);
}

/** Own reaction entries, `__proto__` included, as the page would list them. */
const reactionsOf = (m: Message): [string, ReturnType<typeof reactionOf>][] =>
  Object.keys(m.reactions ?? {})
    .sort()
    .map((emoji) => [emoji, reactionOf(m, emoji)]);

describe('badgeText: the unread badge', () => {
  it('shows nothing when nothing is unread', () => {
    expect(badgeText(0)).toBe('');
    expect(badgeText(-1)).toBe('');
  });

  it('shows the count below the cap', () => {
    expect(badgeText(1)).toBe('1');
    expect(badgeText(UNREAD_CAP - 1)).toBe('999');
  });

  it('shows "1000+" from the cap on (the server stops counting there)', () => {
    expect(UNREAD_CAP).toBe(1000);
    expect(badgeText(1000)).toBe('1000+');
    expect(badgeText(5000)).toBe('1000+');
  });
});

describe('reactionOf', () => {
  const m = message({ reactions: { '👍': { count: 3, users: ['ann', 'bob'] } } });

  it("gives an emoji's count and the users named for it", () => {
    expect(reactionOf(m, '👍')).toEqual({ count: 3, users: ['ann', 'bob'] });
  });

  it('gives none for an emoji the message lacks, or a message without reactions', () => {
    expect(reactionOf(m, '❤️')).toEqual({ count: 0, users: [] });
    expect(reactionOf(message(), '👍')).toEqual({ count: 0, users: [] });
  });

  it('reads no member of Object.prototype for an emoji named like one', () => {
    for (const emoji of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(reactionOf(m, emoji)).toEqual({ count: 0, users: [] });
      expect(reactionOf(message(), emoji)).toEqual({ count: 0, users: [] });
    }
  });
});

describe('applyUpdate: edits and deletions', () => {
  it('shows the new text, marked edited at the time of the edit', () => {
    const before = frozen(message());
    const after = applyUpdate(before, update('edit', { text: 'hello, world', ts: 2500 }));
    expect(after).toEqual({ ...message(), text: 'hello, world', editedAt: 2500 });
    expect(before).toEqual(message());
  });

  it('changes nothing for an edit without text', () => {
    const m = frozen(message());
    expect(applyUpdate(m, update('edit'))).toBe(m);
  });

  it('empties a deleted message: no text, no reactions, no edit mark', () => {
    const m = frozen(
      message({ editedAt: 1500, reactions: { '👍': { count: 1, users: ['bob'] } } }),
    );
    const after = applyUpdate(m, update('delete'));
    expect(after).toEqual({ ...message(), text: '', deleted: true });
    expect(after).not.toHaveProperty('reactions');
    expect(after).not.toHaveProperty('editedAt');
  });

  it('takes no further change once deleted', () => {
    const gone = frozen(applyUpdate(message(), update('delete')));
    for (const u of [
      update('edit', { text: 'back again' }),
      react(bob, '👍', true, 1),
      update('delete'),
    ]) {
      expect(applyUpdate(gone, u)).toBe(gone);
    }
  });
});

describe('applyUpdate: reactions', () => {
  it('counts a reaction as the server does and names its user last', () => {
    const m = frozen(message({ reactions: { '👍': { count: 4, users: ['ann'] } } }));
    // The server's count wins over what the page held (it names at most 10 users).
    expect(reactionOf(applyUpdate(m, react(bob, '👍', true, 9)), '👍')).toEqual({
      count: 9,
      users: ['ann', 'bob'],
    });
  });

  it('counts by one when an update carries no count', () => {
    const on = applyUpdate(message(), react(bob, '👍', true));
    expect(reactionOf(on, '👍')).toEqual({ count: 1, users: ['bob'] });
    const two = applyUpdate(on, react(ann, '👍', true));
    expect(reactionOf(two, '👍')).toEqual({ count: 2, users: ['bob', 'ann'] });
    expect(reactionOf(applyUpdate(two, react(bob, '👍', false)), '👍')).toEqual({
      count: 1,
      users: ['ann'],
    });
  });

  it('drops an emoji nobody has any more, and the reactions with the last one', () => {
    const m = frozen(
      message({
        reactions: {
          '👍': { count: 1, users: ['bob'] },
          '❤️': { count: 2, users: ['ann', 'bob'] },
        },
      }),
    );
    const one = applyUpdate(m, react(bob, '👍', false, 0));
    expect(reactionsOf(one)).toEqual([['❤️', { count: 2, users: ['ann', 'bob'] }]]);
    const heart = applyUpdate(
      applyUpdate(one, react(ann, '❤️', false, 1)),
      react(bob, '❤️', false, 0),
    );
    expect(heart).toEqual(message());
    expect(heart).not.toHaveProperty('reactions');
  });

  it('names at most the 10 most recent users, oldest first', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `u${i}`);
    const m = frozen(message({ reactions: { '👍': { count: 10, users: ten } } }));
    const after = applyUpdate(m, react({ id: 'u10', name: 'U10' }, '👍', true, 11));
    expect(reactionOf(after, '👍')).toEqual({
      count: 11,
      users: [...ten.slice(1), 'u10'],
    });
  });

  it('keeps an emoji named like an Object.prototype member as an own reaction', () => {
    const after = applyUpdate(message(), react(bob, '__proto__', true, 1));
    expect(Object.getPrototypeOf(after.reactions)).toBe(Object.prototype);
    expect(reactionsOf(after)).toEqual([['__proto__', { count: 1, users: ['bob'] }]]);
    expect(reactionOf(after, 'toString')).toEqual({ count: 0, users: [] });
    const off = applyUpdate(after, react(bob, '__proto__', false, 0));
    expect(off).not.toHaveProperty('reactions');
  });

  it('changes nothing for a react update without its emoji or direction', () => {
    const m = frozen(message());
    expect(applyUpdate(m, update('react', { user: bob, on: true, count: 1 }))).toBe(m);
    expect(applyUpdate(m, update('react', { user: bob, emoji: '👍', count: 1 }))).toBe(m);
  });
});

describe('applyUpdate: an update delivered twice', () => {
  it('shows the same message after the second copy (the page does not redraw it)', () => {
    const m = frozen(message({ reactions: { '👍': { count: 2, users: ['ann', 'bob'] } } }));
    const once = frozen(applyUpdate(m, react(bob, '👍', true, 3)));
    expect(applyUpdate(once, react(bob, '👍', true, 3))).toBe(once);
    const off = frozen(applyUpdate(m, react(bob, '👍', false, 1)));
    expect(applyUpdate(off, react(bob, '👍', false, 1))).toBe(off);
    const edit = update('edit', { text: 'hello again', ts: 3000 });
    const edited = frozen(applyUpdate(m, edit));
    expect(applyUpdate(edited, edit)).toEqual(edited);
  });

  // The server's history of one message: edits by its author, reactions (a real change each,
  // counted as the server counts them) and maybe a deletion; the page applies a live prefix of
  // the updates, then a rejoin's ack hands it all of them again, in seq order.
  it('ends as the server has it, whatever prefix the page had already applied live', async () => {
    const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
    const EMOJI = ['👍', '❤️', '__proto__', 'constructor'];
    const op = fc.oneof(
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant('edit' as const), text: fc.string() }),
      },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('react' as const),
          user: fc.constantFrom(...USERS),
          emoji: fc.constantFrom(...EMOJI),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const) }) },
    );
    await runFuzz(
      'web room state: a rejoin replays updates already applied live',
      fc.property(fc.array(op, { maxLength: 30 }), fc.nat(), (ops, cut) => {
        // The server's model: text, edit time, deleted, and per emoji its users by recency.
        let text = 'hello';
        let editedAt: number | undefined;
        let deleted = false;
        const reactors = new Map<string, string[]>();
        const updates: Update[] = [];
        let ts = 2000;
        for (const o of ops) {
          if (deleted) break; // the server refuses changes to a deleted message
          ts++;
          if (o.kind === 'edit') {
            text = o.text;
            editedAt = ts;
            updates.push(update('edit', { text, ts }));
          } else if (o.kind === 'delete') {
            deleted = true;
            updates.push(update('delete', { ts }));
          } else {
            const users = reactors.get(o.emoji) ?? [];
            const on = !users.includes(o.user);
            const next = on ? [...users, o.user] : users.filter((u) => u !== o.user);
            if (next.length > 0) reactors.set(o.emoji, next);
            else reactors.delete(o.emoji);
            const user = { id: o.user, name: o.user.toUpperCase() };
            updates.push(update('react', { user, emoji: o.emoji, on, count: next.length, ts }));
          }
        }
        const live = updates.slice(0, cut % (updates.length + 1));
        let shown = frozen(message());
        for (const u of [...live, ...updates]) shown = frozen(applyUpdate(shown, u));

        if (deleted) {
          expect(shown).toEqual({ ...message(), text: '', deleted: true });
          return;
        }
        expect(shown.text).toBe(text);
        expect(shown.editedAt).toBe(editedAt);
        expect(reactionsOf(shown)).toEqual(
          [...reactors.keys()]
            .sort()
            .map((emoji) => [
              emoji,
              { count: reactors.get(emoji)!.length, users: reactors.get(emoji) },
            ]),
        );
        // And the same as a page that received each update once.
        expect(shown).toEqual(updates.reduce(applyUpdate, message()));
      }),
      { defaultRuns: 500 },
    );
  });
});
