// A small in-process roomcast server for the SDK's specs: the contract's events over a real
// Socket.IO server, with a room log in memory, and hooks that produce the orders a real server
// rarely does (a live message before the join ack, a lost ack, a history cut by retention, a
// counter that started again).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import type { Ack, ErrorCode, Message, Requests, SessionLimits, Update, User } from '../protocol';

type Entry = Message | Update;
type Handler = (payload: Record<string, unknown>, socket: Socket) => unknown;

interface RoomLog {
  entries: Entry[];
  /** The last seq handed out. */
  seq: number;
  /** The counter's start: seqs above it belong to this life. */
  gen: number;
  /** Retention dropped every entry up to this seq. */
  trimmed: number;
}

/** What a hook may answer: go on, drop the call (no ack, nothing done), or handle and drop the ack. */
export type HookResult = void | 'drop' | 'lose-ack' | { answer: unknown };

export interface FakeServerOptions {
  limits?: Partial<SessionLimits>;
  /** Emit `session` on connect (the contract; older servers do not). @default true */
  session?: boolean;
  /** The token's life in ms (jwt mode: `auth.token` is `<user>.<n>`). */
  tokenLifeMs?: number;
  /** The handshake: answer an error message to refuse it. */
  admit?: (auth: Record<string, unknown>) => string | void;
}

export interface Call {
  socket: string;
  event: string;
  payload: Record<string, unknown>;
  at: number;
}

export class FakeServer {
  readonly io: Server;
  url = '';
  readonly rooms = new Map<string, RoomLog>();
  readonly calls: Call[] = [];
  /** Runs before every call is handled (may wait, drop it or lose its ack). */
  hook: (call: Call, socket: Socket) => HookResult | Promise<HookResult> = () => undefined;
  /** Runs after a join is handled, before its ack goes (a live message may go first). */
  beforeJoinAck: (room: string, socket: Socket) => void | Promise<void> = () => undefined;
  private readonly acks = new Map<string, unknown>();
  private readonly cursors = new Map<string, number>();
  private ids = 0;
  private readonly http = createServer();

  constructor(private readonly options: FakeServerOptions = {}) {
    this.io = new Server(this.http, { pingInterval: 500, pingTimeout: 500 });
    this.io.use((socket, next) => {
      const auth = socket.handshake.auth as Record<string, unknown>;
      const refused = this.options.admit?.(auth);
      if (refused) return next(new Error(refused));
      next();
    });
    this.io.on('connection', (socket) => this.connected(socket));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.io.disconnectSockets(true);
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }

  userOf(socket: Socket): User {
    return socket.data.user as User;
  }

  /**
   * A message from another user (as the server API would post it), delivered live unless
   * `silent` (a gateway that could not deliver it).
   */
  post(
    room: string,
    text: string,
    user: User = { id: 'u-other', name: 'other' },
    silent = false,
  ): Message {
    const m: Message = {
      id: `m${++this.ids}`,
      room,
      seq: this.next(room),
      text,
      user,
      ts: Date.now(),
      serverId: 'fake',
    };
    if (silent) this.log(room).entries.push(m);
    else this.append(m);
    return m;
  }

  /** A change to message `id` by `user`, delivered live. */
  change(room: string, user: User, id: string, kind: Update['kind'], extra: Partial<Update> = {}) {
    const log = this.log(room);
    const m = log.entries.find((e): e is Message => !('kind' in e) && e.id === id);
    if (!m || m.deleted) return undefined;
    const u: Update = {
      room,
      seq: this.next(room),
      id,
      targetSeq: m.seq,
      user,
      ts: Date.now(),
      kind,
      ...extra,
    };
    if (kind === 'edit') {
      m.text = u.text!;
      m.editedAt = u.ts;
    } else if (kind === 'delete') {
      m.text = '';
      m.deleted = true;
      delete m.reactions;
    } else {
      const r = (m.reactions ??= {});
      const had = Object.hasOwn(r, u.emoji!) ? r[u.emoji!] : { count: 0, users: [] };
      const users = had.users.filter((x) => x !== user.id);
      if (u.on) users.push(user.id);
      if (users.length) r[u.emoji!] = { count: users.length, users };
      else delete r[u.emoji!];
      u.count = users.length;
    }
    this.append(u);
    return u;
  }

  /** Retention drops every entry up to `seq`. */
  trim(room: string, seq: number): void {
    const log = this.log(room);
    log.entries = log.entries.filter((e) => e.seq > seq);
    log.trimmed = Math.max(log.trimmed, seq);
  }

  /**
   * Redis lost the room: a new counter at the clock, and no entries. `aheadMs`: Redis's clock
   * that much ahead of the gateway's, which stamps a message's ts before its append.
   */
  restartCounter(room: string, aheadMs = 0): void {
    const now = (Date.now() + aheadMs) * 1000;
    this.rooms.set(room, { entries: [], seq: now, gen: now, trimmed: 0 });
  }

  messages(room: string): Message[] {
    return this.log(room).entries.filter((e): e is Message => !('kind' in e));
  }

  calledBy(event: string): Call[] {
    return this.calls.filter((c) => c.event === event);
  }

  private log(room: string): RoomLog {
    let log = this.rooms.get(room);
    if (!log) {
      // As Redis starts a counter: at its clock in microseconds (here an hour ago).
      const start = (Date.now() - 3_600_000) * 1000;
      log = { entries: [], seq: start, gen: start, trimmed: 0 };
      this.rooms.set(room, log);
    }
    return log;
  }

  private next(room: string): number {
    return ++this.log(room).seq;
  }

  private append(e: Entry): void {
    this.log(e.room).entries.push(e);
    this.io.to(e.room).emit('kind' in e ? 'message:update' : 'message', e);
  }

  private connected(socket: Socket): void {
    const auth = socket.handshake.auth as { name?: string; token?: string };
    const name = auth.token?.split('.')[0] ?? auth.name ?? 'guest';
    socket.data.user = { id: `u-${name}`, name };
    const { session = true, tokenLifeMs } = this.options;
    if (session) {
      socket.emit('session', {
        user: socket.data.user,
        serverId: 'fake',
        limits: {
          sendsPerSec: 20,
          sendBurst: 40,
          eventsPerSec: 50,
          eventsBurst: 100,
          maxRooms: 100,
          maxTextLength: 4000,
          ...this.options.limits,
        },
        ...(tokenLifeMs ? { expiresAt: Date.now() + tokenLifeMs } : {}),
      });
    }
    const handlers: Record<keyof Requests, Handler> = {
      'room:join': (p) => this.join(socket, p as Requests['room:join'][0]),
      'room:leave': async (p) => {
        await socket.leave(p.room as string);
        const user = this.userOf(socket);
        this.io.to(p.room as string).emit('presence', { room: p.room, event: 'leave', user });
        return { room: p.room };
      },
      'message:send': (p) => this.send(socket, p as Requests['message:send'][0]),
      'room:history': (p) => this.history(p as Requests['room:history'][0]),
      'room:read': (p) => {
        const key = `${this.userOf(socket).id}:${p.room}`;
        const readSeq = Math.max(this.cursors.get(key) ?? 0, p.seq as number);
        this.cursors.set(key, readSeq);
        return { room: p.room, readSeq, unread: 0 };
      },
      'message:edit': (p) => this.mutate(socket, 'edit', p),
      'message:delete': (p) => this.mutate(socket, 'delete', p),
      'message:react': (p) => this.mutate(socket, 'react', p),
      typing: (p) => {
        socket
          .to(p.room as string)
          .emit('typing', { room: p.room, user: this.userOf(socket), typing: p.typing });
        return {};
      },
      'auth:refresh': (p) => {
        const token = p.token as string;
        if (!token.startsWith(`${this.userOf(socket).name}.`))
          return { ok: false, error: { code: 'FORBIDDEN', message: 'another user' } };
        return { expiresAt: Date.now() + (this.options.tokenLifeMs ?? 60_000) };
      },
    };
    for (const [event, handle] of Object.entries(handlers)) {
      socket.on(event, async (payload: Record<string, unknown>, ack?: (a: unknown) => void) => {
        const call = { socket: socket.id, event, payload, at: Date.now() };
        this.calls.push(call);
        const hooked = await this.hook(call, socket);
        if (hooked === 'drop') return;
        if (typeof hooked === 'object') return ack?.(hooked.answer);
        const out = await handle(payload, socket);
        if (hooked === 'lose-ack') return;
        const answer =
          out && typeof out === 'object' && 'ok' in out ? out : { ok: true, ...(out as object) };
        ack?.(answer);
      });
    }
  }

  private async join(socket: Socket, { room, sinceSeq }: Requests['room:join'][0]) {
    const log = this.log(room);
    const repeated = socket.rooms.has(room);
    await socket.join(room);
    const messages = log.entries.filter((e): e is Message => !('kind' in e));
    let history: Message[];
    let more = false;
    let updates: Update[] = [];
    let complete = true;
    if (sinceSeq === undefined) {
      history = messages.slice(-50);
    } else {
      const after = messages.filter((m) => m.seq > sinceSeq);
      history = after.slice(0, 100);
      more = after.length > 100;
      updates = log.entries.filter(
        (e): e is Update => 'kind' in e && e.seq > sinceSeq && e.targetSeq <= sinceSeq,
      );
      complete = sinceSeq >= log.gen && sinceSeq >= log.trimmed;
    }
    if (!repeated) {
      const user = this.userOf(socket);
      this.io.to(room).emit('presence', { room, event: 'join', user });
    }
    const members = [...(await this.io.in(room).fetchSockets())].map((s) => s.data.user as User);
    const unique = [...new Map(members.map((u) => [u.id, u])).values()];
    const result = {
      room,
      members: unique,
      memberCount: unique.length,
      history: structuredClone(history),
      more,
      updates,
      complete,
      readSeq: this.cursors.get(`${this.userOf(socket).id}:${room}`) ?? 0,
      unread: 0,
      mine: {},
    };
    await this.beforeJoinAck(room, socket);
    return result;
  }

  private send(socket: Socket, { room, text, clientId }: Requests['message:send'][0]) {
    if (!socket.rooms.has(room))
      return { ok: false, error: { code: 'NOT_IN_ROOM', message: `not in room ${room}` } };
    const user = this.userOf(socket);
    const key = `${user.id}:${room}:${clientId}`;
    if (clientId && this.acks.has(key)) return this.acks.get(key);
    const m: Message = {
      id: `m${++this.ids}`,
      room,
      seq: this.next(room),
      text,
      user,
      ts: Date.now(),
      serverId: 'fake',
      ...(clientId ? { clientId } : {}),
    };
    this.append(m);
    const ack = { id: m.id, seq: m.seq, ts: m.ts };
    if (clientId) this.acks.set(key, ack);
    return ack;
  }

  private mutate(socket: Socket, kind: Update['kind'], p: Record<string, unknown>) {
    const room = p.room as string;
    if (!socket.rooms.has(room))
      return { ok: false, error: { code: 'NOT_IN_ROOM', message: `not in room ${room}` } };
    const user = this.userOf(socket);
    const key = `${user.id}:${room}:${p.clientId}`;
    if (p.clientId && this.acks.has(key)) return this.acks.get(key);
    const extra: Partial<Update> =
      kind === 'edit'
        ? { text: p.text as string }
        : kind === 'react'
          ? { emoji: p.emoji as string, on: p.on as boolean }
          : {};
    const u = this.change(room, user, p.id as string, kind, extra);
    if (!u) return { ok: false, error: { code: 'NOT_FOUND', message: 'no such message' } };
    const ack = { seq: u.seq };
    if (p.clientId) this.acks.set(key, ack);
    return ack;
  }

  private history({ room, beforeSeq, afterSeq, limit = 50 }: Requests['room:history'][0]) {
    let messages = this.messages(room);
    if (afterSeq !== undefined) messages = messages.filter((m) => m.seq > afterSeq).slice(0, limit);
    else {
      if (beforeSeq !== undefined) messages = messages.filter((m) => m.seq < beforeSeq);
      messages = messages.slice(-limit);
    }
    return { messages: structuredClone(messages), mine: {} };
  }
}

/** A hook's answer: an error ack instead of handling the call. */
export function refusal(code: string, message: string, retryAfterMs?: number) {
  const answer: Ack<object> = {
    ok: false,
    error: {
      code: code as ErrorCode,
      message,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    },
  };
  return { answer };
}

/** Polls `check` until it holds, or fails after `ms`. */
export async function waitFor(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
