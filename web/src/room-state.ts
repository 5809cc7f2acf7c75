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

/**
 * Who reacted with `emoji`. Own properties only: an emoji is any 1-32 characters, so
 * `__proto__` or `constructor` must not read Object.prototype's members.
 */
export function reactionUsers(m: Message, emoji: string): readonly string[] {
  return m.reactions && Object.hasOwn(m.reactions, emoji) ? m.reactions[emoji] : [];
}

/**
 * The message once `u` is applied. Idempotent (a repeated update changes nothing: reactions are
 * sets), so an update that reaches the client twice, live and again in a rejoin's `updates`, is
 * harmless. A deleted message takes no further change.
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
      const users = reactionUsers(m, u.emoji);
      if (users.includes(u.user.id) === u.on) return m;
      const next = u.on ? [...users, u.user.id] : users.filter((id) => id !== u.user.id);
      // fromEntries defines own properties, so no emoji can set the object's prototype.
      const entries = Object.entries(m.reactions ?? {}).filter(([emoji]) => emoji !== u.emoji);
      if (next.length > 0) entries.push([u.emoji, next]);
      const changed: Message = { ...m, reactions: Object.fromEntries(entries) };
      if (entries.length === 0) delete changed.reactions;
      return changed;
    }
  }
}
