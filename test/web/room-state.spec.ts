import type { Message, User } from '@roomcast/contracts';
import { badgeText, reactionOf, UNREAD_CAP } from '../../web/src/room-state';

/**
 * The web client's pure helpers (web/src/room-state.ts): how a room's badge reads and what a
 * message's reaction counts are. The room state itself (updates applied once) is the SDK's and
 * is specified in libs/client.
 */

const ann: User = { id: 'ann', name: 'Ann' };

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
