import { createHash } from 'node:crypto';
import type {
  LogEntry,
  Message,
  MyReactions,
  Reaction,
  SendResult,
  Update,
  UpdateResult,
  User,
} from '@roomcast/contracts';
import { RedisKeys } from '../redis/keys';
import type { RedisClient } from '../redis/connection';
import { ClientIdConflict, sendFingerprint } from './client-ids';
import { ScriptRunner } from '../redis/script-runner';
import * as scripts from '../redis/scripts';

export interface HistoryQuery {
  beforeSeq?: number;
  afterSeq?: number;
  limit: number;
}

/** How long room history is kept: by count and by age. */
export interface Retention {
  maxMessages: number;
  maxAgeMs: number;
}
export const DEFAULT_RETENTION: Retention = { maxMessages: 1000, maxAgeMs: 24 * 3600 * 1000 };

/** How long a read cursor is kept after it last moved (at least the history's age limit). */
export const CURSOR_TTL_MS = 30 * 24 * 3600 * 1000;
/** Distinct reactions one message may carry (PROTOCOL.md). */
export const MAX_REACTIONS = 20;
/** The reactors a message names per emoji, the most recent (PROTOCOL.md). */
export const REACTION_SAMPLE = 10;

/** An edit, deletion or reaction change, before the log gives it a seq and a target. */
export interface UpdateDraft {
  room: string;
  /** The message's id. */
  id: string;
  user: User;
  ts: number;
  kind: Update['kind'];
  text?: string;
  emoji?: string;
  on?: boolean;
  clientId?: string;
  /** A moderator's deletion (the server API): any message, whoever wrote it. */
  moderator?: boolean;
}

export type UpdateOutcome =
  | { status: 'ok'; update: Update; prev: number }
  /** A retried clientId: `ack` is the first call's; its update is at `ack.seq`. */
  | { status: 'duplicate'; ack: UpdateResult }
  | { status: 'not-found' | 'forbidden' | 'too-many-reactions' }
  /** The clientId was used for another change (kind, target, text or emoji). */
  | { status: 'client-id-conflict' };

/** What a join reads in one atomic step: the history, the updates and the counter. */
export interface JoinSnapshot {
  history: Message[];
  /** Updates after `sinceSeq` (all of them, whatever their target), oldest first. */
  updates: Update[];
  seq: SeqState;
  /** The stored JSON's length of each of `history` and of `updates` (for the ack's bound). */
  historyBytes: number[];
  updateBytes: number[];
  /**
   * The updates to messages at or before `sinceSeq` passed the byte budget: `updates` stops
   * there (the ack can carry none of them).
   */
  updatesOverBudget: boolean;
}

/** A page of one emoji's reactors on a message. */
export interface ReactorPage {
  users: string[];
  /** The last user of the page, to start the next one after (absent: the last page). */
  after?: string;
}

export interface AppendResult {
  ack: SendResult;
  /** True when the clientId was seen before: `ack` is the first send's. */
  duplicate: boolean;
  /**
   * The seq before this one in the room's counter: `seq - 1`, or 0 when this send started a new
   * generation (nothing before it is to be waited for).
   */
  prev: number;
  /** The number of its message.created webhook event (0: off, or a retry). */
  hook: number;
}

/** Where a room's counter stands. */
export interface SeqState {
  /** The last assigned seq (0: no counter). */
  current: number;
  /** The seq its generation started from: messages have seqs above it (0: unknown or none). */
  gen: number;
}

/**
 * A room's log: its seq counter (and generation), its history and the clientId keys of safe
 * retries. A room's append is one script over the room's keys only, which share its group's hash
 * tag (keys.ts): one slot, on one Redis as on a cluster.
 */
export class RoomHistory {
  readonly keys: RedisKeys;
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    readonly retention: Retention = DEFAULT_RETENTION,
    /** Number each new message among its room's webhook events (message.created). */
    readonly webhookMessages = false,
    /** A room's own retention (its room rule, ROOM_RULES); absent: `retention` for every room. */
    private readonly retentionFor?: (room: string) => Retention,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = new ScriptRunner(redis);
  }

  /**
   * Assigns the room's next seq and stores the message with it, atomically; with a clientId, a
   * retry within the retention window gets the first send's ack instead. `floorSeq` is the last
   * seq the caller has seen in the room: the counter never goes below it. The same clientId with
   * another user name or text throws ClientIdConflict (checked in the same script: no extra
   * round trip).
   */
  async appendMessage(
    message: Omit<Message, 'seq'>,
    floorSeq = 0,
    now = Date.now(),
  ): Promise<AppendResult> {
    // The scripts find the id first, and cut the text out of a deleted message before `user`.
    const { id, room, text, user, ...rest } = message;
    const json = JSON.stringify({ id, room, text, user, ...rest });
    const retention = this.retentionOf(room);
    const keys = [...this.logKeys(room), this.keys.roomHooks(room)];
    if (message.clientId !== undefined)
      keys.push(this.keys.roomClient(room, message.user.id, message.clientId));
    const r = (await this.scripts.runBatched(scripts.APPEND_MESSAGE, keys, [
      json.slice(1),
      retention.maxMessages,
      retention.maxAgeMs,
      now,
      floorSeq,
      message.id,
      message.ts,
      message.user.id,
      this.cursorTtlMs(room),
      this.webhookMessages ? '1' : '0',
      message.clientId === undefined ? '' : sendFingerprint(message.user, text),
    ])) as [string, number, number, number];
    if (Number(r[1]) === 2) throw new ClientIdConflict(message.clientId!);
    const ack = JSON.parse(r[0]) as SendResult;
    const duplicate = Number(r[1]) === 1;
    if (!duplicate) return { ack, duplicate, prev: Number(r[2]), hook: Number(r[3]) };
    // A retry: the first send's predecessor, so a republish is not held for a gap fill.
    return { ack, duplicate, prev: Number(r[2]) === ack.seq - 1 ? 0 : ack.seq - 1, hook: 0 };
  }

  /**
   * Applies an edit, deletion or reaction change: the room's next seq, the update stored and the
   * message rewritten in its new state, atomically (update-message.lua); with a clientId, a retry
   * within the retention window gets the first call's ack. Only the author edits or deletes.
   */
  async appendUpdate(draft: UpdateDraft, floorSeq = 0, now = Date.now()): Promise<UpdateOutcome> {
    const { room, id, user, ts, kind, text, emoji, on, clientId } = draft;
    // `text` last: a deletion blanks earlier edits' texts by cutting from it to the end.
    const json = JSON.stringify({ id, room, user, ts, kind, emoji, on, text });
    const retention = this.retentionOf(room);
    const keys = this.logKeys(room);
    // A clientId names one change: its kind, its target and what it sets.
    const fingerprint =
      clientId === undefined
        ? ''
        : createHash('sha256')
            .update(JSON.stringify([kind, id, text ?? null, emoji ?? null, on ?? null]))
            .digest('base64url')
            .slice(0, 22);
    if (clientId !== undefined) keys.push(this.keys.roomUpdateClient(room, user.id, clientId));
    const r = (await this.scripts.runBatched(scripts.UPDATE_MESSAGE, keys, [
      kind,
      json.slice(1),
      retention.maxMessages,
      retention.maxAgeMs,
      now,
      floorSeq,
      id,
      // The author's mark the message must carry; a moderator's deletion needs none.
      draft.moderator === true && kind === 'delete'
        ? ''
        : `,"user":{"id":${JSON.stringify(user.id)},`,
      text ?? '',
      emoji ?? '',
      on ? '1' : '0',
      MAX_REACTIONS,
      this.cursorTtlMs(room),
      fingerprint,
      user.id,
      REACTION_SAMPLE,
    ])) as [string, number, string, string, number];
    switch (Number(r[1])) {
      case 0: {
        const { seq } = JSON.parse(r[0]) as UpdateResult;
        const update = JSON.parse(`{"seq":${seq},"targetSeq":${r[3]},${json.slice(1)}`) as Update;
        if (kind === 'react') update.count = Number(r[4]);
        return { status: 'ok', update, prev: Number(r[2]) };
      }
      case 1:
        return { status: 'duplicate', ack: JSON.parse(r[0]) as UpdateResult };
      case 3:
        return { status: 'forbidden' };
      case 4:
        return { status: 'too-many-reactions' };
      case 5:
        return { status: 'client-id-conflict' };
      default:
        return { status: 'not-found' };
    }
  }

  /** One update by seq, if still retained. */
  async updateAt(room: string, seq: number): Promise<Update | undefined> {
    const found = await this.redis.zrangebyscore(this.keys.roomUpdates(room), seq, seq);
    return found.map((s) => JSON.parse(s) as Update)[0];
  }

  /**
   * What a join shows, read in one script (join-snapshot.lua; the room's keys share a slot): with
   * `sinceSeq` the messages after it (up to `limit`) and every update after it (up to
   * `updatesLimit`, and no further once those to messages at or before `sinceSeq` pass
   * `updatesByteBudget`: `updatesOverBudget`), else the last `limit` messages; and the counter,
   * so whatever has a seq up to `seq.current` is in the snapshot or already reflected in the
   * messages' state.
   */
  async joinSnapshot(
    room: string,
    q: { sinceSeq?: number; limit: number; updatesLimit: number; updatesByteBudget: number },
  ): Promise<JoinSnapshot> {
    const k = this.keys;
    const [history, updates, current, gen, over] = (await this.scripts.run(
      scripts.JOIN_SNAPSHOT,
      [k.roomHistory(room), k.roomUpdates(room), k.roomSeq(room), k.roomGen(room)],
      [q.sinceSeq ?? '', q.limit, q.updatesLimit, q.updatesByteBudget],
    )) as [string[], string[], string | null, string | null, number];
    const messages = this.freshWithSize<Message>(room, history);
    const changes = this.freshWithSize<Update>(room, updates);
    return {
      history: messages.map(({ entry }) => entry),
      updates: changes.map(({ entry }) => entry),
      seq: { current: Number(current ?? 0), gen: Number(gen ?? 0) },
      historyBytes: messages.map(({ bytes }) => bytes),
      updateBytes: changes.map(({ bytes }) => bytes),
      updatesOverBudget: Number(over) === 1,
    };
  }

  /**
   * Retained log entries with afterSeq < seq < beforeSeq, oldest first: messages (in their
   * current state) and updates, for a gap fill.
   */
  async entriesBetween(
    room: string,
    afterSeq: number,
    beforeSeq: number,
    limit: number,
  ): Promise<LogEntry[]> {
    const [messages, updates] = await Promise.all([
      this.history(room, { afterSeq, beforeSeq, limit }),
      this.redis.zrangebyscore(
        this.keys.roomUpdates(room),
        `(${afterSeq}`,
        `(${beforeSeq}`,
        'LIMIT',
        0,
        limit,
      ),
    ]);
    const entries: LogEntry[] = [...messages, ...this.fresh(room, updates)];
    return entries.sort((a, b) => a.seq - b.seq);
  }

  /** The room's last assigned seq (0 for a room without messages). */
  async currentSeq(room: string): Promise<number> {
    return Number((await this.redis.get(this.keys.roomSeq(room))) ?? 0);
  }

  /** The room's last assigned seq and its generation's start, read together. */
  async seqState(room: string): Promise<SeqState> {
    const [current, gen] = await this.redis.mget(this.keys.roomSeq(room), this.keys.roomGen(room));
    return { current: Number(current ?? 0), gen: Number(gen ?? 0) };
  }

  /** One message by seq, if still retained. */
  async messageAt(room: string, seq: number): Promise<Message | undefined> {
    return this.fresh(
      room,
      await this.redis.zrangebyscore(this.keys.roomHistory(room), seq, seq),
    )[0];
  }

  /** The last `limit` messages, oldest first. */
  async recentMessages(room: string, limit: number): Promise<Message[]> {
    return this.fresh(
      room,
      await this.redis.zrange(this.keys.roomHistory(room), String(-limit), '-1'),
    );
  }

  async history(room: string, q: HistoryQuery): Promise<Message[]> {
    const key = this.keys.roomHistory(room);
    if (q.afterSeq !== undefined) {
      const max = q.beforeSeq !== undefined ? `(${q.beforeSeq}` : '+inf';
      return this.fresh(
        room,
        await this.redis.zrangebyscore(key, `(${q.afterSeq}`, max, 'LIMIT', 0, q.limit),
      );
    }
    if (q.beforeSeq !== undefined) {
      const newestFirst = await this.redis.zrevrangebyscore(
        key,
        `(${q.beforeSeq}`,
        '-inf',
        'LIMIT',
        0,
        q.limit,
      );
      return this.fresh(room, newestFirst.reverse());
    }
    return this.recentMessages(room, q.limit);
  }

  /**
   * A page of the users who reacted with `emoji` to message `id`, by user id, starting after
   * `after`; undefined when the message is not retained. O(log n + limit) in the room's reactions.
   */
  async reactors(
    room: string,
    id: string,
    emoji: string,
    q: { after?: string; limit: number },
  ): Promise<ReactorPage | undefined> {
    const seq = await this.redis.hget(this.keys.roomIds(room), id);
    if (seq === null) return undefined;
    const prefix = reactorPrefix(seq, emoji);
    const from = q.after === undefined ? `[${prefix}` : `(${prefix}${q.after}`;
    // Past every entry of this prefix: no UTF-8 text holds the byte 0xff.
    const to = Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]);
    const found = await this.redis.zrangebylex(
      this.keys.roomReactors(room),
      from,
      to,
      'LIMIT',
      0,
      q.limit + 1,
    );
    const users = found.slice(0, q.limit).map((m) => m.slice(prefix.length));
    return found.length > q.limit ? { users, after: users[users.length - 1] } : { users };
  }

  /**
   * The user's own reactions on `messages`: read from each emoji's sample where it names the
   * user or names every reactor, and from the reactors ZSET (one ZMSCORE) for the rest.
   */
  async mine(room: string, userId: string, messages: Message[]): Promise<MyReactions> {
    const mine: MyReactions = {};
    const asks: { id: string; emoji: string; member: string }[] = [];
    for (const m of messages) {
      for (const [emoji, r] of Object.entries(m.reactions ?? {})) {
        if (r.users.includes(userId)) (mine[m.id] ??= []).push(emoji);
        else if (r.count > r.users.length)
          asks.push({ id: m.id, emoji, member: reactorPrefix(String(m.seq), emoji) + userId });
      }
    }
    if (asks.length === 0) return mine;
    const scores = await this.redis.zmscore(
      this.keys.roomReactors(room),
      ...asks.map((a) => a.member),
    );
    asks.forEach((a, i) => {
      if (scores[i] !== null) (mine[a.id] ??= []).push(a.emoji);
    });
    return mine;
  }

  /** The keys of a room's log, in the order the log scripts declare them (_log.lua). */
  private logKeys(room: string): string[] {
    const k = this.keys;
    return [
      k.roomSeq(room),
      k.roomGen(room),
      k.roomHistory(room),
      k.roomIds(room),
      k.roomEdits(room),
      k.roomUpdates(room),
      k.roomReads(room),
      k.roomReactors(room),
    ];
  }

  /** `room`'s retention: its rule's (ROOM_RULES), else the service's. */
  retentionOf(room: string): Retention {
    return this.retentionFor?.(room) ?? this.retention;
  }

  private cursorTtlMs(room: string): number {
    return Math.max(CURSOR_TTL_MS, this.retentionOf(room).maxAgeMs);
  }

  /** Parses stored entries, leaving out those past the age limit (a room idle since). */
  private fresh<T extends LogEntry = Message>(
    room: string,
    items: string[],
    now = Date.now(),
  ): T[] {
    return this.freshWithSize<T>(room, items, now).map(({ entry }) => entry);
  }

  /** As `fresh`, with each entry's stored JSON's size in bytes (what it costs on the wire). */
  private freshWithSize<T extends LogEntry>(
    room: string,
    items: string[],
    now = Date.now(),
  ): { entry: T; bytes: number }[] {
    const cutoff = now - this.retentionOf(room).maxAgeMs;
    const out: { entry: T; bytes: number }[] = [];
    for (const raw of items) {
      const entry = JSON.parse(raw) as T;
      if (entry.ts < cutoff) continue;
      out.push({
        entry: 'reactions' in entry && entry.reactions ? withCountedReactions(entry) : entry,
        bytes: Buffer.byteLength(raw),
      });
    }
    return out;
  }
}

/** The start of one emoji's reactor entries on message `seq` (keys.ts, roomReactors). */
function reactorPrefix(seq: string, emoji: string): string {
  return `${seq}:${Buffer.byteLength(emoji)}:${emoji}`;
}

/**
 * A message stored before reactions were counted holds a list of user ids per emoji: shown as a
 * count and the most recent ones, as update-message.lua rewrites it on its next reaction.
 */
function withCountedReactions<T extends LogEntry>(m: T & { reactions?: unknown }): T {
  const reactions = m.reactions as Record<string, Reaction | string[]>;
  if (!Object.values(reactions).some(Array.isArray)) return m;
  const counted: Record<string, Reaction> = {};
  for (const [emoji, r] of Object.entries(reactions))
    counted[emoji] = Array.isArray(r) ? { count: r.length, users: r.slice(-REACTION_SAMPLE) } : r;
  return { ...m, reactions: counted };
}
