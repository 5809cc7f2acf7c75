// The web client's pure core: what a message looks like after an update, and how a badge reads.
// No DOM and no socket here, so each rule can be read (and tested) on its own.
import type { Message, Update } from '@roomcast/contracts/types';

/** The server counts unread messages exactly up to this, and reports this beyond. */
export const UNREAD_CAP = 1000;

/** Nothing at 0, the count below the cap, "1000+" at it (the server's 1000 means "or more"). */
export function badgeText(unread: number): string {
  if (unread <= 0) return '';
  return unread >= UNREAD_CAP ? `${UNREAD_CAP}+` : String(unread);
}

/** How many users reacted with `emoji`, and the most recent of them (at most 10). */
export function reactionOf(m: Message, emoji: string): { count: number; users: readonly string[] } {
  // Own properties only: an emoji is any 1-32 characters, so `__proto__` or `constructor` must
  // not read Object.prototype's members.
  return m.reactions && Object.hasOwn(m.reactions, emoji)
    ? m.reactions[emoji]
    : { count: 0, users: [] };
}

/** The users a message names per emoji (PROTOCOL.md). */
const SAMPLE = 10;

/**
 * The message once `u` is applied. Idempotent (a repeated update changes nothing: a reaction
 * update carries the emoji's count, and its user is named once), so an update that reaches the
 * client twice, live and again in a rejoin's `updates`, is harmless. A deleted message takes no
 * further change.
 */
export function applyUpdate(m: Message, u: Update): Message {
  if (m.deleted) return m;
  switch (u.kind) {
    case 'edit':
      return u.text === undefined ? m : { ...m, text: u.text, editedAt: u.ts };
    case 'delete': {
      const next: Message = { ...m, text: '', deleted: true };
      delete next.reactions;
      delete next.editedAt;
      return next;
    }
    case 'react': {
      if (u.emoji === undefined || u.on === undefined) return m;
      const { count, users } = reactionOf(m, u.emoji);
      const others = users.filter((id) => id !== u.user.id);
      const named = u.on ? [...others, u.user.id].slice(-SAMPLE) : others;
      const nextCount = u.count ?? Math.max(0, count + (u.on ? 1 : -1));
      if (
        nextCount === count &&
        named.length === users.length &&
        named.every((id, i) => id === users[i])
      )
        return m;
      // fromEntries defines own properties, so no emoji can set the object's prototype.
      const entries = Object.entries(m.reactions ?? {}).filter(([emoji]) => emoji !== u.emoji);
      if (nextCount > 0) entries.push([u.emoji, { count: nextCount, users: named }]);
      const changed: Message = { ...m, reactions: Object.fromEntries(entries) };
      if (entries.length === 0) delete changed.reactions;
      return changed;
    }
  }
}
