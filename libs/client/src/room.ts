import { Emitter } from './emitter';
import { RoomcastError, retryable } from './errors';
import type { Op, OutboxStorage } from './outbox';
import type {
  HistoryResult,
  JoinResult,
  Message,
  PresenceNotice,
  ReadNotice,
  Requests,
  RoomRemoved,
  TypingNotice,
  Update,
  User,
} from './protocol';
import { MessageLog, withMine, type RoomMessage } from './room-state';

/** What the client gives its rooms. */
export interface Host {
  /** The live connection's id (0: none). */
  connId(): number;
  me(): User | undefined;
  readonly storage: OutboxStorage;
  readonly keep: number;
  /** Resolves once the changes kept in the storage are back in their rooms' outboxes. */
  readonly loaded: Promise<unknown>;
  /** One request on connection `connId`, paced under its budgets; rejects with a RoomcastError. */
  call<K extends keyof Requests>(
    connId: number,
    event: K,
    payload: Requests[K][0],
    send?: boolean,
  ): Promise<Requests[K][1]>;
  /** Resolves after `ms` (never, once the client is closed). */
  sleep(ms: number): Promise<void>;
  /** The wait before retry number `attempt`, full jitter. */
  backoff(attempt: number): number;
  settled(op: Op, result: unknown, error?: RoomcastError): void;
  forget(room: Room): void;
}

export type RoomStatus = 'joining' | 'joined' | 'left' | 'removed';

/** Messages after `afterSeq` could not be recovered: retention dropped them, or Redis lost them. */
export interface ResetNotice {
  room: string;
  /** Every message up to this seq reached the app; after it, some may be missing. */
  afterSeq: number;
  reason: 'retention' | 'counter_restart';
  /** The first seq held after the gap, when the server had one. */
  resumeSeq?: number;
}

export interface RoomSnapshot {
  room: string;
  status: RoomStatus;
  /** Seq order; own sends not accepted yet last, marked `pending`. */
  messages: readonly RoomMessage[];
  members: readonly User[];
  memberCount: number;
  readSeq: number;
  unread: number;
}

export interface RoomEvents {
  /** A message new to the app, in seq order, once (older() pages are not announced). */
  message: RoomMessage;
  /** An edit, deletion or reaction applied to a message the room holds. */
  update: Update;
  presence: PresenceNotice;
  typing: TypingNotice;
  read: ReadNotice;
  reset: ResetNotice;
  /** The server took this connection out of the room (kicked, banned, forbidden). */
  removed: RoomRemoved;
  /** The snapshot changed (at most once per microtask). */
  change: RoomSnapshot;
}

interface Pending {
  op: Op;
  /** Settled (the room may have ended it while its request was out). */
  done?: true;
  saved: Promise<void>;
  resolve?: (result: never) => void;
  reject?: (err: RoomcastError) => void;
  attempts: number;
}

const EVENTS = {
  send: 'message:send',
  edit: 'message:edit',
  delete: 'message:delete',
  react: 'message:react',
} as const;

const PAGE = 100;
const UNREAD_CAP = 1000;

/** The op as its event's payload: everything but the outbox's own fields. */
function payloadOf(op: Op): Requests[(typeof EVENTS)[Op['kind']]][0] {
  const payload: Record<string, unknown> = { ...op };
  delete payload.kind;
  delete payload.createdAt;
  return payload as Requests[(typeof EVENTS)[Op['kind']]][0];
}

/**
 * One room of a client: joined at once and again on every connection (with the highest seq it
 * holds, paging on until it has caught up), its messages in seq order, and an outbox whose
 * changes go out, one at a time and in order, only once the room is joined on the connection.
 */
export class Room extends Emitter<RoomEvents> {
  private readonly log: MessageLog;
  /** Every entry (message or update) up to this seq has been applied. */
  private synced = 0;
  /** The ts of the entry at `synced`. */
  private syncedTs = 0;
  /** The connection this room is joined on and caught up with (0: none). */
  private joinedOn = 0;
  /** Live entries that arrived while the room was joining or paging: applied after. */
  private early: (Message | Update)[] | undefined;
  private readonly ops: Pending[] = [];
  /** Own sends shown as pending, by clientId, until their message is held. */
  private readonly shown = new Map<string, RoomMessage>();
  private pumping = false;
  private waiters: { resolve: (conn: number) => void; reject: (err: RoomcastError) => void }[] = [];
  private memberMap = new Map<string, User>();
  private count = 0;
  private read = 0;
  private unreadCount = 0;
  private state: RoomStatus = 'joining';
  private snap: RoomSnapshot | undefined;
  private queued = false;
  private typingSent = 0;
  /** Counts joins: a join that is no longer the latest stops. */
  private gen = 0;
  /** The last live seq applied since the last join (0: none yet). */
  private lastLive = 0;

  constructor(
    readonly name: string,
    private readonly host: Host,
  ) {
    super();
    this.log = new MessageLog(host.keep);
  }

  get status(): RoomStatus {
    return this.state;
  }
  get messages(): readonly RoomMessage[] {
    return this.getSnapshot().messages;
  }
  get members(): readonly User[] {
    return this.getSnapshot().members;
  }
  get memberCount(): number {
    return this.count;
  }
  get unread(): number {
    return this.unreadCount;
  }
  get readSeq(): number {
    return this.read;
  }

  /** For React's useSyncExternalStore: the same object until something changes. */
  readonly getSnapshot = (): RoomSnapshot =>
    (this.snap ??= {
      room: this.name,
      status: this.state,
      messages: [...this.log.messages, ...this.pendingSends()],
      members: [...this.memberMap.values()],
      memberCount: this.count,
      readSeq: this.read,
      unread: this.unreadCount,
    });

  readonly subscribe = (listener: () => void): (() => void) => this.on('change', listener);

  /** Own sends not accepted yet; one restored before the session learns its author then. */
  private pendingSends(): RoomMessage[] {
    const me = this.host.me();
    return [...this.shown.values()].map((m) => (m.user.id || !me ? m : { ...m, user: me }));
  }

  /** Sends `text`; resolves once the server accepted it, rejects only on a final refusal. */
  send(text: string): Promise<{ id: string; seq: number; ts: number }> {
    return this.enqueue({ kind: 'send', text });
  }

  edit(id: string, text: string): Promise<{ seq: number }> {
    return this.enqueue({ kind: 'edit', id, text });
  }

  remove(id: string): Promise<{ seq: number }> {
    return this.enqueue({ kind: 'delete', id });
  }

  react(id: string, emoji: string, on: boolean): Promise<{ seq: number }> {
    return this.enqueue({ kind: 'react', id, emoji, on });
  }

  /** Loads up to `limit` messages before the oldest held; resolves with them (oldest first). */
  async older(limit = 50): Promise<RoomMessage[]> {
    const page = await this.request('room:history', {
      room: this.name,
      beforeSeq: this.log.first ?? this.synced + 1,
      limit,
    });
    const added = page.messages.map((m) => withMine(m, page.mine));
    for (const m of added) this.log.add(m);
    this.changed();
    return added;
  }

  /** Moves the read cursor to `seq` (default: the newest message held). */
  async markRead(seq = this.log.last ?? this.synced): Promise<ReadNotice> {
    const notice = await this.request('room:read', { room: this.name, seq });
    this.onRead(notice, false);
    return notice;
  }

  /** Best effort: dropped when the room is not joined; `true` is renewed at most every 2 s. */
  setTyping(typing: boolean): void {
    const now = Date.now();
    if (!this.joinedOn || (typing && now - this.typingSent < 2000)) return;
    if (!typing && !this.typingSent) return;
    this.typingSent = typing ? now : 0;
    this.host.call(this.joinedOn, 'typing', { room: this.name, typing }).catch(() => undefined);
  }

  /** Leaves the room; its unsettled changes are refused (`LEFT`). */
  async leave(): Promise<void> {
    if (this.state === 'left' || this.state === 'removed') return;
    const conn = this.joinedOn;
    this.end('left', new RoomcastError('LEFT', `left ${this.name}`));
    if (!conn) return;
    try {
      await this.host.call(conn, 'room:leave', { room: this.name });
    } catch (err) {
      // Not in the room is what was asked; a lost connection left it already.
      if (!(err instanceof RoomcastError) || !retryable(err)) throw err;
    }
  }

  // ---- driven by the client ----

  /** Joins on connection `conn` (a new one), with the highest seq held, and catches up. */
  async join(conn: number): Promise<void> {
    if (this.state === 'left' || this.state === 'removed') return;
    const gen = ++this.gen;
    const current = () => this.host.connId() === conn && this.gen === gen;
    this.state = 'joining';
    this.joinedOn = 0;
    this.early = [];
    // The first live entry after a join follows the room's counter at the join, unknown here.
    this.lastLive = 0;
    const since = this.synced;
    let ack: JoinResult | undefined;
    for (let attempt = 0; !ack; attempt++) {
      try {
        ack = await this.host.call(
          conn,
          'room:join',
          since ? { room: this.name, sinceSeq: since } : { room: this.name },
        );
      } catch (err) {
        if (!current()) return;
        if (!retryable(err as RoomcastError)) {
          // Refused for good (a private room without the claim, a bad name).
          this.removed({ room: this.name, reason: 'forbidden' }, err as RoomcastError);
          return;
        }
        await this.host.sleep(this.wait(err as RoomcastError, attempt));
      }
    }
    if (!current()) return;
    this.memberMap = new Map(ack.members.map((u) => [u.id, u]));
    this.count = ack.memberCount;
    this.read = ack.readSeq;
    this.unreadCount = ack.unread;
    const first = ack.history[0];
    const reset: ResetNotice | undefined =
      since && !ack.complete
        ? {
            room: this.name,
            afterSeq: since,
            reason:
              first && restarted(since, first.seq, this.syncedTs) ? 'counter_restart' : 'retention',
            resumeSeq: first?.seq,
          }
        : undefined;
    if (reset) this.emit('reset', reset);
    for (const m of ack.history) this.take(withMine(m, ack.mine), false);
    // Their seqs may lie past messages still to be paged: they do not move `synced`.
    for (const u of ack.updates) this.apply(u, false);
    this.joinedOn = conn;
    this.state = 'joined';
    this.changed();
    for (const w of this.waiters.splice(0)) w.resolve(conn);
    void this.pump();
    // Pages on up to where the live stream started, then applies what came live meanwhile.
    let after = ack.history.at(-1)?.seq;
    let more = ack.more;
    while (more && after !== undefined) {
      const page = await this.page(conn, { room: this.name, afterSeq: after, limit: PAGE });
      if (!page || !current()) return;
      for (const m of page.messages) this.take(withMine(m, page.mine), false);
      this.changed();
      const firstLive = this.early?.find((e) => !('kind' in e))?.seq;
      after = page.messages.at(-1)?.seq;
      more = page.messages.length === PAGE && (firstLive === undefined || after! < firstLive);
    }
    if (!current()) return;
    const early = (this.early ?? []).sort((a, b) => a.seq - b.seq);
    this.early = undefined;
    for (const e of early) this.live(e);
    if (reset && this.log.first !== undefined && this.log.first <= since)
      await this.reload(conn, since);
  }

  /** The connection was lost: nothing goes out until the next join. */
  lost(): void {
    this.joinedOn = 0;
    if (this.state === 'joined') this.state = 'joining';
    this.changed();
  }

  /** A live message or update of this room. */
  live(e: Message | Update): void {
    if (this.early) {
      this.early.push(e);
      return;
    }
    if (e.seq <= this.lastLive) return;
    if (this.lastLive && e.seq > this.lastLive + 1 && this.joinedOn) {
      // Messages and updates share the room's seqs and all reach every member: a live seq that
      // skips some means the server could not deliver them (a gateway moves past what its gap
      // fill no longer finds, a counter started again). A repeated join reads what the log
      // still holds after the last seq applied, and says whether that is everything.
      void this.join(this.joinedOn);
      this.early!.push(e);
      return;
    }
    this.lastLive = e.seq;
    if ('kind' in e) {
      this.apply(e);
    } else {
      this.take(e, true);
    }
  }

  onPresence(p: PresenceNotice): void {
    const complete = this.memberMap.size >= this.count;
    const had = this.memberMap.has(p.user.id);
    if (p.event === 'join' && !had) {
      if (complete || this.memberMap.size < PAGE) this.memberMap.set(p.user.id, p.user);
      this.count++;
    } else if (p.event === 'leave' && (had || !complete)) {
      this.memberMap.delete(p.user.id);
      this.count = Math.max(0, this.count - 1);
    }
    this.changed();
    this.emit('presence', p);
  }

  onTyping(t: TypingNotice): void {
    this.emit('typing', t);
  }

  onRead(r: ReadNotice, announce = true): void {
    if (r.readSeq >= this.read) {
      this.read = r.readSeq;
      this.unreadCount = r.unread;
      this.changed();
    }
    if (announce) this.emit('read', r);
  }

  removed(r: RoomRemoved, err?: RoomcastError): void {
    this.end('removed', err ?? new RoomcastError('REMOVED', `removed from ${r.room}: ${r.reason}`));
    this.emit('removed', r);
  }

  /** A change restored from storage (a reload): goes out in its place, by creation time. */
  restore(op: Op): void {
    this.queue(op, Promise.resolve());
  }

  /** The client closed: promises settle, the storage keeps what it holds. */
  closed(): void {
    const err = new RoomcastError('CLOSED', 'client closed');
    for (const p of this.ops.splice(0)) {
      p.done = true;
      p.reject?.(err);
    }
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  // ---- internals ----

  private enqueue<R>(change: Record<string, unknown> & { kind: Op['kind'] }): Promise<R> {
    if (this.state === 'left' || this.state === 'removed')
      return Promise.reject(new RoomcastError('LEFT', `not in ${this.name}`));
    const op = { ...change, room: this.name, clientId: clientId(), createdAt: now() } as Op;
    return new Promise<R>((resolve, reject) => {
      const pending = this.queue(op, this.host.storage.put(op));
      pending.resolve = resolve as (result: never) => void;
      pending.reject = reject;
    });
  }

  private queue(op: Op, saved: Promise<void>): Pending {
    const pending: Pending = { op, saved, attempts: 0 };
    let i = this.ops.length;
    while (i > 0 && this.ops[i - 1].op.createdAt > op.createdAt) i--;
    this.ops.splice(i, 0, pending);
    if (op.kind === 'send') {
      this.shown.set(op.clientId, {
        id: op.clientId,
        room: this.name,
        seq: 0,
        text: op.text,
        user: this.host.me() ?? { id: '', name: '' },
        ts: op.createdAt,
        serverId: '',
        clientId: op.clientId,
        pending: true,
      });
      this.changed();
    }
    void this.pump();
    return pending;
  }

  /** Sends the outbox's head while the room is joined on the live connection. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      await this.host.loaded;
      while (this.ops.length && this.joinedOn && this.joinedOn === this.host.connId()) {
        const p = this.ops[0];
        try {
          await p.saved.catch(() => undefined);
          const result = await this.host.call(
            this.joinedOn,
            EVENTS[p.op.kind],
            payloadOf(p.op),
            true,
          );
          this.settle(p, result);
        } catch (e) {
          const err = e as RoomcastError;
          if (!retryable(err)) {
            this.settle(p, undefined, err);
            continue;
          }
          p.attempts++;
          if (err.code === 'NOT_IN_ROOM' && this.joinedOn === this.host.connId()) {
            // The server lost this membership (a kick not announced): join again first.
            void this.join(this.joinedOn);
            return;
          }
          await this.host.sleep(this.wait(err, p.attempts - 1));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private settle(p: Pending, result: unknown, err?: RoomcastError): void {
    if (p.done) return;
    p.done = true;
    if (this.ops[0] === p) this.ops.shift();
    void this.host.storage.delete(p.op.clientId).catch(() => undefined);
    if (p.op.kind === 'send') {
      const seq = (result as { seq?: number } | undefined)?.seq;
      if (err || (seq !== undefined && this.log.has(seq))) this.shown.delete(p.op.clientId);
      this.changed();
    }
    if (err) p.reject?.(err);
    else p.resolve?.(result as never);
    this.host.settled(p.op, result, err);
  }

  /** A message that belongs after what is held (history, a page, or live). */
  private take(m: RoomMessage, live: boolean): void {
    const me = this.host.me()?.id;
    if (m.clientId && this.shown.delete(m.clientId)) this.changed();
    if (m.seq <= this.synced && this.log.has(m.seq)) return;
    if (m.seq > this.synced) {
      this.synced = m.seq;
      this.syncedTs = m.ts;
    }
    if (!this.log.add(m)) return;
    if (live) {
      if (m.user.id === me) {
        this.read = m.seq;
        this.unreadCount = 0;
      } else if (m.seq > this.read) {
        this.unreadCount = Math.min(UNREAD_CAP, this.unreadCount + 1);
      }
    }
    this.changed();
    this.emit('message', m);
  }

  private apply(u: Update, advance = true): void {
    if (advance && u.seq > this.synced) {
      this.synced = u.seq;
      this.syncedTs = u.ts;
    }
    if (this.log.update(u, this.host.me()?.id)) {
      this.changed();
      this.emit('update', u);
    }
  }

  /** After a reset: the messages held up to `since` again, in their current state (updates to
   * them may be among what was lost). */
  private async reload(conn: number, since: number): Promise<void> {
    let before = since + 1;
    for (;;) {
      const page = await this.page(conn, { room: this.name, beforeSeq: before, limit: PAGE });
      if (!page?.messages.length) return;
      for (const m of page.messages)
        if (this.log.has(m.seq)) this.log.add(withMine(m, page.mine), true);
      this.changed();
      before = page.messages[0].seq;
      if (before <= (this.log.first ?? 0)) return;
    }
  }

  /** A history page on connection `conn`, retried while it lives (undefined: it is gone). */
  private async page(
    conn: number,
    payload: Requests['room:history'][0],
  ): Promise<HistoryResult | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.host.call(conn, 'room:history', payload);
      } catch (err) {
        if (this.host.connId() !== conn || !retryable(err as RoomcastError)) return undefined;
        await this.host.sleep(this.wait(err as RoomcastError, attempt));
      }
    }
  }

  /** A request once the room is joined, retried across connections until it gets an answer. */
  private async request<K extends keyof Requests>(
    event: K,
    payload: Requests[K][0],
  ): Promise<Requests[K][1]> {
    for (let attempt = 0; ; attempt++) {
      const conn = await this.joined();
      try {
        return await this.host.call(conn, event, payload);
      } catch (err) {
        if (!retryable(err as RoomcastError)) throw err;
        await this.host.sleep(this.wait(err as RoomcastError, attempt));
      }
    }
  }

  private joined(): Promise<number> {
    if (this.state === 'left' || this.state === 'removed')
      return Promise.reject(new RoomcastError('LEFT', `not in ${this.name}`));
    if (this.joinedOn && this.joinedOn === this.host.connId())
      return Promise.resolve(this.joinedOn);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private wait(err: RoomcastError, attempt: number): number {
    return Math.max(err.retryAfterMs ?? 0, this.host.backoff(attempt));
  }

  private end(status: 'left' | 'removed', err: RoomcastError): void {
    this.state = status;
    this.joinedOn = 0;
    this.early = undefined;
    for (const p of this.ops.splice(0)) this.settle(p, undefined, err);
    this.shown.clear();
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.host.forget(this);
    this.changed();
  }

  private changed(): void {
    this.snap = undefined;
    if (this.queued) return;
    this.queued = true;
    void Promise.resolve().then(() => {
      this.queued = false;
      this.emit('change', this.getSnapshot());
    });
  }
}

let last = 0;
/** Strictly increasing across the page's changes, so a restored outbox keeps their order. */
function now(): number {
  return (last = Math.max(Date.now(), last + 0.001));
}

let counter = 0;
function clientId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Whether `first`, the first seq a rejoin got after `since` (the last held, an entry of time
 * `sinceTs` ms), belongs to a counter that started again. A counter starts at Redis's clock in
 * microseconds and counts up by one per entry: a new one is more than a million seqs ahead of
 * an older life (no retention keeps a million entries) and, read as a time, no earlier than the
 * entry held; a same life's later seq is neither (its seqs stay behind the clock: a room would
 * need a million entries a second to catch it up). A counter that started again within a second
 * of the room's first entry cannot be told from retention by seqs alone: it is reported as that.
 */
export function restarted(since: number, first: number, sinceTs: number): boolean {
  return first - since > 1_000_000 && first / 1000 >= sinceTs - 1000;
}
