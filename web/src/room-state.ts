// The web client's pure helpers: how a badge reads and what a message's reaction counts are. The
// room's state itself (messages, updates applied once, unread counts) is @roomcast/client's.
// No DOM here, so each rule can be read (and tested) on its own.

/** The server counts unread messages exactly up to this, and reports this beyond. */
export const UNREAD_CAP = 1000;

/** Nothing at 0, the count below the cap, "1000+" at it (the server's 1000 means "or more"). */
export function badgeText(unread: number): string {
  if (unread <= 0) return '';
  return unread >= UNREAD_CAP ? `${UNREAD_CAP}+` : String(unread);
}

/** One emoji's reactions as a message carries them. */
export interface Reaction {
  count: number;
  users: readonly string[];
}

/** How many users reacted with `emoji`, and the most recent of them (at most 10). */
export function reactionOf(
  m: { reactions?: Readonly<Record<string, Reaction>> },
  emoji: string,
): Reaction {
  // Own properties only: an emoji is any 1-32 characters, so `__proto__` or `constructor` must
  // not read Object.prototype's members.
  return m.reactions && Object.hasOwn(m.reactions, emoji)
    ? m.reactions[emoji]
    : { count: 0, users: [] };
}
