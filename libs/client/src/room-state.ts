import type { Message, MyReactions, Update } from './protocol';

/** A message as the room shows it: the caller's own reactions, and own sends not yet accepted. */
export interface RoomMessage extends Message {
  /** The emoji the signed-in user reacted with. */
  mine?: readonly string[];
  /** An own send not accepted yet: `id` is its clientId and `seq` 0; it comes after the rest. */
  pending?: true;
}

const SAMPLE = 10;

/**
 * The message once `u` is applied. Applying the same update again changes nothing (an edit
 * carries its text, a reaction its emoji's count), so an update that reaches the client twice,
 * live and in a rejoin, is harmless. A deleted message takes no further change.
 */
export function applyUpdate(m: RoomMessage, u: Update, me?: string): RoomMessage {
  if (m.deleted) return m;
  switch (u.kind) {
    case 'edit':
      // A superseded edit carries no text: the later one that replaced it follows.
      return u.text === undefined ? m : { ...m, text: u.text, editedAt: u.ts };
    case 'delete': {
      const next: RoomMessage = { ...m, text: '', deleted: true };
      delete next.reactions;
      delete next.editedAt;
      delete next.mine;
      return next;
    }
    case 'react': {
      const { emoji, on } = u;
      if (emoji === undefined || on === undefined) return m;
      const had = m.reactions && Object.hasOwn(m.reactions, emoji) ? m.reactions[emoji] : undefined;
      const others = (had?.users ?? []).filter((id) => id !== u.user.id);
      const users = on ? [...others, u.user.id].slice(-SAMPLE) : others;
      const count = u.count ?? Math.max(0, (had?.count ?? 0) + (on ? 1 : -1));
      // fromEntries defines own properties: an emoji named __proto__ sets no prototype.
      const entries = Object.entries(m.reactions ?? {}).filter(([e]) => e !== emoji);
      if (count > 0) entries.push([emoji, { count, users }]);
      const next: RoomMessage = { ...m, reactions: Object.fromEntries(entries) };
      if (entries.length === 0) delete next.reactions;
      if (u.user.id === me) {
        const mine = (m.mine ?? []).filter((e) => e !== emoji);
        if (on) mine.push(emoji);
        next.mine = mine;
      }
      return next;
    }
  }
}

/** A message from history or the live stream, with the caller's own reactions from `mine`. */
export function withMine(m: Message, mine?: MyReactions): RoomMessage {
  const own = mine && Object.hasOwn(mine, m.id) ? mine[m.id] : undefined;
  return own?.length ? { ...m, mine: own } : m;
}

/**
 * The messages a room holds, in seq order, each once, with the updates applied once: a pure
 * core the Room drives, kept apart so each rule is tested on its own.
 */
export class MessageLog {
  /** Ascending by seq. */
  private list: RoomMessage[] = [];
  /** Per message seq: the highest update seq applied to it. */
  private readonly applied = new Map<number, number>();

  constructor(private readonly limit = Infinity) {}

  get messages(): readonly RoomMessage[] {
    return this.list;
  }

  get first(): number | undefined {
    return this.list[0]?.seq;
  }

  get last(): number | undefined {
    return this.list.at(-1)?.seq;
  }

  has(seq: number): boolean {
    return this.indexOf(seq) >= 0;
  }

  get(seq: number): RoomMessage | undefined {
    const i = this.indexOf(seq);
    return i >= 0 ? this.list[i] : undefined;
  }

  /**
   * Adds a message unless its seq is held; answers whether it was new. With `replace`, a held one
   * is replaced (a reload in its current state).
   */
  add(m: RoomMessage, replace = false): boolean {
    let lo = 0;
    let hi = this.list.length;
    // Appends are the common case: check the end first.
    if (hi > 0 && this.list[hi - 1].seq < m.seq) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid].seq < m.seq) lo = mid + 1;
      else hi = mid;
    }
    if (this.list[lo]?.seq === m.seq) {
      if (replace) this.list[lo] = m;
      return false;
    }
    this.list.splice(lo, 0, m);
    if (this.list.length > this.limit) this.drop(this.list.length - this.limit);
    return true;
  }

  /**
   * Applies an update once (by its seq; an older one than the last applied is skipped); answers
   * whether it changed what is held. One whose target is not held is dropped: the target is older
   * than what the room shows.
   */
  update(u: Update, me?: string): boolean {
    const i = this.indexOf(u.targetSeq);
    if (i < 0 || (this.applied.get(u.targetSeq) ?? 0) >= u.seq) return false;
    this.applied.set(u.targetSeq, u.seq);
    const next = applyUpdate(this.list[i], u, me);
    this.list[i] = next;
    return true;
  }

  private drop(n: number): void {
    for (const m of this.list.splice(0, n)) this.applied.delete(m.seq);
  }

  private indexOf(seq: number): number {
    let lo = 0;
    let hi = this.list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.list[mid].seq;
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
