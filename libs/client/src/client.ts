import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { Bucket, fullJitter } from './backoff';
import { Emitter } from './emitter';
import { RoomcastError } from './errors';
import { memoryStorage, type Op, type OutboxStorage } from './outbox';
import type { Ack, Notices, Requests, Session, SessionEnd, SessionLimits, User } from './protocol';
import { Room, type Host } from './room';

export type ClientState = 'connecting' | 'live' | 'reconnecting' | 'refused' | 'closed';

export interface ClientOptions {
  /** The gateway (or the load balancer in front of the gateways), e.g. `https://chat.example`. */
  url: string;
  /** A display name (open mode), or a function that fetches a fresh JWT (before each connect). */
  auth: { name?: string } | { getToken: () => Promise<string> };
  /** Where unsettled changes are kept. @default memoryStorage() */
  storage?: OutboxStorage;
  /** Passed to socket.io-client's `io()` (e.g. `path`, `transports`), but for reconnection. */
  socket?: Partial<ManagerOptions & SocketOptions>;
  /** A request without an answer by then takes the link for dead. @default 15000 */
  ackTimeoutMs?: number;
  /** Full-jitter backoff of reconnects and retries. @default { baseMs: 500, capMs: 30000 } */
  backoff?: { baseMs?: number; capMs?: number };
  /** How long before the token expires it is refreshed (at most a fifth of its life). @default 60000 */
  refreshLeadMs?: number;
  /** The most messages a room holds (the oldest go first). @default 5000 */
  keep?: number;
}

export interface ClientEvents {
  state: ClientState;
  session: Session;
  /** The server ended the connection on purpose, or refused the handshake (`unauthorized`). */
  end: SessionEnd | { reason: 'unauthorized'; retry: false };
  /** A change of the outbox settled: its promise's result, also for changes restored from storage. */
  settled: { op: Op; result?: unknown; error?: RoomcastError };
}

export interface ClientSnapshot {
  state: ClientState;
  me: User | undefined;
}

/** The server's defaults, until the session names its own. */
const DEFAULT_LIMITS: SessionLimits = {
  sendsPerSec: 20,
  sendBurst: 40,
  eventsPerSec: 50,
  eventsBurst: 100,
  maxRooms: 100,
  maxTextLength: 4000,
};

/** The client stays this far under each budget: clocks and networks bunch requests up. */
const MARGIN = 0.8;

/** PROTOCOL.md's room names: anything else would corrupt the broker's routing keys. */
const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** How long requests wait for the session (and its limits) after a connect. */
const SESSION_WAIT_MS = 1000;

/** The shortest wait between two tries of a refresh, however close the token's expiry. */
const REFRESH_RETRY_MIN_MS = 10;

/** A connection that lasted this long was a good one: the next reconnect starts from no wait. */
const STABLE_MS = 5000;

class Conn {
  readonly events = new Bucket(0, 0);
  readonly sends = new Bucket(0, 0);
  /** Requests wait for the session's limits (a server without sessions: a second at most). */
  private chain: Promise<void>;
  sessionSeen!: () => void;
  live = false;
  liveAt = 0;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    this.limits(DEFAULT_LIMITS);
    this.chain = new Promise<void>((resolve) => {
      this.sessionSeen = resolve;
      void sleep(SESSION_WAIT_MS).then(resolve);
    });
  }

  limits(l: SessionLimits): void {
    const under = (n: number) => Math.max(1, Math.floor(n * MARGIN));
    this.events.setLimits(under(l.eventsPerSec), under(l.eventsBurst));
    this.sends.setLimits(under(l.sendsPerSec), under(l.sendBurst));
  }

  /** Waits for a token of the event budget (and of the send budget), first come first served. */
  pace(send: boolean): Promise<void> {
    const take = async (b: Bucket) => {
      for (let d = b.take(); d > 0; d = b.take()) await this.sleep(d);
    };
    const turn = this.chain.then(async () => {
      await take(this.events);
      if (send) await take(this.sends);
    });
    this.chain = turn;
    return turn;
  }
}

/**
 * A roomcast client: one connection at a time, opened again with full-jitter backoff whenever it
 * is lost (socket.io-client's own reconnection is off, so every connect fetches a fresh token),
 * and its rooms, joined again on each connection.
 */
export class Client extends Emitter<ClientEvents> {
  /** The signed-in user, from the first session. */
  readonly me: Promise<User>;
  private user: User | undefined;
  private status: ClientState = 'connecting';
  private conn: Conn | undefined;
  private nextId = 1;
  private attempt = 0;
  private readonly rooms = new Map<string, Room>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private snap: ClientSnapshot | undefined;
  private resolveMe!: (u: User) => void;
  private rejectMe!: (err: RoomcastError) => void;
  private readonly storage: OutboxStorage;
  private readonly host: Host;

  constructor(private readonly options: ClientOptions) {
    super();
    this.storage = options.storage ?? memoryStorage();
    this.me = new Promise<User>((resolve, reject) => {
      this.resolveMe = resolve;
      this.rejectMe = reject;
    });
    // Nobody has to await `me`: an unobserved refusal must not crash Node.
    this.me.catch(() => undefined);
    const { baseMs = 500, capMs = 30_000 } = options.backoff ?? {};
    this.host = {
      connId: () => (this.conn?.live ? this.conn.id : 0),
      me: () => this.user,
      storage: this.storage,
      keep: options.keep ?? 5000,
      // Changes kept from before a reload go out first, in their rooms.
      loaded: this.storage
        .load()
        .then((ops) => {
          for (const op of ops) if (this.status !== 'closed') this.room(op.room).restore(op);
        })
        // A storage that fails to read (or holds what no room takes) holds nothing back.
        .catch(() => undefined),
      call: (connId, event, payload, send) => this.call(connId, event, payload, send),
      sleep: (ms) => this.sleep(ms),
      backoff: (attempt) => fullJitter(attempt, baseMs, capMs),
      settled: (op, result, error) => this.emit('settled', { op, result, error }),
      forget: (room) => {
        if (this.rooms.get(room.name) === room) this.rooms.delete(room.name);
      },
    };
    this.open();
  }

  get state(): ClientState {
    return this.status;
  }

  /** For React's useSyncExternalStore: the same object until something changes. */
  readonly getSnapshot = (): ClientSnapshot =>
    (this.snap ??= { state: this.status, me: this.user });

  readonly subscribe = (listener: () => void): (() => void) => {
    const offState = this.on('state', listener);
    const offSession = this.on('session', listener);
    return () => {
      offState();
      offSession();
    };
  };

  /**
   * The room named `name`: joined now, and again after every reconnect, until left. Throws a
   * RoomcastError for a name the server would refuse (`INVALID_PAYLOAD`), or once closed.
   */
  room(name: string): Room {
    if (typeof name !== 'string' || !ROOM_NAME.test(name))
      throw new RoomcastError('INVALID_PAYLOAD', `not a room name: ${String(name)}`);
    if (this.status === 'closed') throw new RoomcastError('CLOSED', 'client closed');
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name, this.host);
      this.rooms.set(name, room);
      if (this.host.connId()) void room.join(this.host.connId());
    }
    return room;
  }

  /** Closes the connection; unsettled changes are refused (`CLOSED`) but stay in the storage. */
  close(): void {
    if (this.status === 'closed') return;
    this.setState('closed');
    this.stop();
    for (const room of this.rooms.values()) room.closed();
    this.rooms.clear();
    this.rejectMe(new RoomcastError('CLOSED', 'client closed'));
  }

  /** After `refused` (a new sign-in, say): connects again. */
  reconnect(): void {
    if (this.status !== 'refused') return;
    this.attempt = 0;
    this.setState('connecting');
    this.open();
  }

  private setState(state: ClientState): void {
    if (state === this.status) return;
    this.status = state;
    this.snap = undefined;
    this.emit('state', state);
  }

  private stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.refreshTimer);
    const conn = this.conn;
    this.conn = undefined;
    if (conn) {
      conn.socket.removeAllListeners();
      conn.socket.disconnect();
    }
  }

  private timer(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timer(resolve, ms));
  }

  /** Opens a connection after the backoff's wait (none for the very first one). */
  private open(): void {
    const first = this.nextId === 1;
    const { baseMs = 500, capMs = 30_000 } = this.options.backoff ?? {};
    const wait = first ? 0 : fullJitter(this.attempt++, baseMs, capMs);
    this.timer(() => void this.connect(), wait);
  }

  private async connect(): Promise<void> {
    const { auth } = this.options;
    let handshake: { token: string } | { name?: string };
    try {
      handshake = 'getToken' in auth ? { token: await auth.getToken() } : { name: auth.name };
    } catch {
      // No token now (the app's backend is down, say): try again later.
      if (this.status !== 'closed' && this.status !== 'refused') this.open();
      return;
    }
    if (this.status === 'closed' || this.status === 'refused') return;
    const socket = io(this.options.url, {
      ...this.options.socket,
      forceNew: true,
      reconnection: false,
      auth: handshake,
    });
    const conn = new Conn(this.nextId++, socket, (ms) => this.sleep(ms));
    this.conn = conn;
    // Handlers go on before anything can arrive: a polling response may carry the connect and
    // the session in one payload.
    socket.on('connect', () => {
      conn.live = true;
      conn.liveAt = Date.now();
      this.setState('live');
      for (const room of [...this.rooms.values()]) void room.join(conn.id);
    });
    socket.on('connect_error', (err: Error) => {
      this.drop(conn);
      if (err.message === 'unauthorized') {
        this.emit('end', { reason: 'unauthorized', retry: false });
        this.refuse();
      } else {
        // A full gateway, a load balancer with no gateway: come back later.
        this.open();
      }
    });
    socket.on('disconnect', () => {
      if (this.conn !== conn) return;
      if (Date.now() - conn.liveAt >= STABLE_MS) this.attempt = 0;
      this.drop(conn);
      this.setState('reconnecting');
      this.open();
    });
    const on = <K extends keyof Notices>(event: K, fn: (value: Notices[K]) => void) =>
      socket.on(event as string, (value: Notices[K]) => {
        if (this.conn === conn && value && typeof value === 'object') fn(value);
      });
    on('session', (s) => {
      conn.limits(s.limits ?? DEFAULT_LIMITS);
      conn.sessionSeen();
      const first = !this.user;
      this.user = s.user;
      this.snap = undefined;
      if (first) this.resolveMe(s.user);
      if (s.expiresAt !== undefined) this.scheduleRefresh(conn, s.expiresAt);
      this.emit('session', s);
    });
    on('session:end', (end) => {
      this.emit('end', end);
      if (!end.retry) this.refuse();
      // With retry the server closes the connection; the disconnect reconnects.
    });
    on('room:removed', (r) => this.rooms.get(r.room)?.removed(r));
    on('message', (m) => this.rooms.get(m.room)?.live(m));
    on('message:update', (u) => this.rooms.get(u.room)?.live(u));
    on('presence', (p) => this.rooms.get(p.room)?.onPresence(p));
    on('typing', (t) => this.rooms.get(t.room)?.onTyping(t));
    on('read', (r) => this.rooms.get(r.room)?.onRead(r));
  }

  /** The connection is gone: its rooms stop sending until their next join. */
  private drop(conn: Conn): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    clearTimeout(this.refreshTimer);
    conn.live = false;
    conn.socket.removeAllListeners();
    conn.socket.disconnect();
    for (const room of this.rooms.values()) room.lost();
  }

  /** Refused for good (until reconnect()): the rooms and their outboxes wait. */
  private refuse(): void {
    if (this.conn) this.drop(this.conn);
    this.setState('refused');
    if (!this.user) this.rejectMe(new RoomcastError('FORBIDDEN', 'refused'));
  }

  /** Refreshes the token in-band before it expires, as long as the connection lives. */
  private scheduleRefresh(conn: Conn, expiresAt: number): void {
    const { auth } = this.options;
    if (!('getToken' in auth)) return;
    clearTimeout(this.refreshTimer);
    const left = expiresAt - Date.now();
    const lead = Math.min(this.options.refreshLeadMs ?? 60_000, left / 5);
    this.refreshTimer = setTimeout(async () => {
      for (let attempt = 0; this.conn === conn && Date.now() < expiresAt; attempt++) {
        try {
          const token = await auth.getToken();
          const { expiresAt: next } = await this.call(conn.id, 'auth:refresh', { token });
          if (this.conn === conn) this.scheduleRefresh(conn, next);
          return;
        } catch {
          // Another try while the old token lasts, within half of what is left of it, so the
          // lead's last stretch still gets tries (a dependency of the server's back in time);
          // past it, the server ends the session and the reconnect fetches a fresh one.
          const half = (expiresAt - Date.now()) / 2;
          await this.sleep(
            Math.max(REFRESH_RETRY_MIN_MS, Math.min(fullJitter(attempt, 250, 5000), half)),
          );
        }
      }
    }, left - lead);
  }

  /** One request, paced under the connection's budgets; an unanswered one closes the link. */
  private async call<K extends keyof Requests>(
    connId: number,
    event: K,
    payload: Requests[K][0],
    send = false,
  ): Promise<Requests[K][1]> {
    const conn = this.conn;
    const gone = () => new RoomcastError('DISCONNECTED', `not connected (${event})`);
    if (!conn?.live || conn.id !== connId) throw gone();
    await conn.pace(send);
    if (this.conn !== conn || !conn.live) throw gone();
    const ack = await new Promise<Ack<Requests[K][1]>>((resolve, reject) =>
      conn.socket
        .timeout(this.options.ackTimeoutMs ?? 15_000)
        .emit(event, payload, (err: Error | null, ack: Ack<Requests[K][1]>) => {
          if (!err) return resolve(ack);
          // No answer in time: the link is taken for dead (a frozen proxy, a lost network),
          // and the next connection retries.
          if (this.conn === conn) conn.socket.disconnect();
          reject(gone());
        }),
    );
    if (ack?.ok) {
      const result: Partial<typeof ack> = { ...ack };
      delete result.ok;
      return result as Requests[K][1];
    }
    const error = ack?.error ?? { code: 'INVALID_PAYLOAD', message: 'no answer' };
    if (error.code === 'RATE_LIMITED' && error.retryAfterMs !== undefined)
      (send ? conn.sends : conn.events).pause(error.retryAfterMs);
    throw new RoomcastError(error.code, error.message, error.retryAfterMs);
  }
}

/** A client: connects at once (see ClientOptions). */
export function createClient(options: ClientOptions): Client {
  return new Client(options);
}
