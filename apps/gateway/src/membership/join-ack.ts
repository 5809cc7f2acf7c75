import type { Message, Update } from '@roomcast/contracts';
import type { JoinSnapshot } from '@roomcast/store';

/**
 * What a join ack's history and updates may hold in all, in stored JSON bytes (PROTOCOL.md:
 * about 1 MiB): past it the history is cut (`more`, the client pages on) and the updates left
 * out (`complete: false`, the client reloads what it shows).
 */
export const JOIN_ACK_BYTES = 1024 * 1024;

/**
 * The join ack's history and updates within their counts and JOIN_ACK_BYTES: with `sinceSeq`
 * the history keeps its oldest messages (`more`: the client pages on after them) and the updates
 * (those to messages at or before `sinceSeq`) come only whole, else none and `updatesCut`;
 * without it the history keeps its newest. `all` is every update the ack accounts for (to tell
 * what the log still holds after `sinceSeq`).
 */
export function boundJoinAck(
  snapshot: JoinSnapshot,
  sinceSeq: number | undefined,
  limits: { history: number; updates: number; bytes?: number },
): { history: Message[]; more: boolean; updates: Update[]; updatesCut: boolean; all: Update[] } {
  const { historyBytes, updateBytes } = snapshot;
  const max = limits.bytes ?? JOIN_ACK_BYTES;
  let history = snapshot.history;
  let bytes = historyBytes;
  let more = false;
  if (sinceSeq !== undefined && history.length > limits.history) {
    history = history.slice(0, limits.history);
    bytes = bytes.slice(0, limits.history);
    more = true;
  }
  let total = bytes.reduce((n, b) => n + b, 0);
  if (total > max) {
    // Keep whole messages up to the bound (at least one: a single message fits in far less).
    let kept = 0;
    let size = 0;
    const order = sinceSeq !== undefined ? bytes : [...bytes].reverse();
    while (kept < order.length && (kept === 0 || size + order[kept] <= max)) {
      size += order[kept];
      kept++;
    }
    history = sinceSeq !== undefined ? history.slice(0, kept) : history.slice(-kept);
    if (sinceSeq !== undefined) more = true;
    total = size;
  }
  let updatesCut = snapshot.updates.length > limits.updates || snapshot.updatesOverBudget;
  const all = snapshot.updates.slice(0, limits.updates);
  if (sinceSeq === undefined) return { history, more, updates: [], updatesCut, all };
  let updates: Update[] = [];
  if (!updatesCut) {
    let size = total;
    all.forEach((u, i) => {
      if (u.targetSeq <= sinceSeq) {
        updates.push(u);
        size += updateBytes[i];
      }
    });
    if (size > max) {
      updates = [];
      updatesCut = true;
    }
  }
  return { history, more, updates, updatesCut, all };
}
