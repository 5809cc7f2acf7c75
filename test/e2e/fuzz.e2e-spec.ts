import type { Message, TypingNotice } from '@roomcast/contracts';
import {
  codePointCount,
  connectClient,
  contractKeys,
  contractVerdict,
  fuzzRuns,
  hostilePayload,
  internalTextIn,
  isWellFormedUtf16,
  PROTOCOL_ERROR_CODES,
  readMetric,
  requireServices,
  runFuzz,
  startCluster,
  validClientId,
  validPayload,
  waitFor,
  type ContractVerdict,
  type FuzzEvent,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import fc from 'fast-check';
import type { Socket } from 'socket.io-client';

/**
 * Property-based fuzzing of the client events against real processes (presence, stats and two
 * gateways). Each case connects a few clients spread over both gateways and emits waves of
 * events on a handful of rooms, valid and hostile, pipelined within a wave; after each wave's
 * acks it checks what the acks say and that every ok-acked message reached every client that was
 * in the room throughout; after the last wave, probe clients check that Socket.IO membership,
 * presence (`room:members`) and what each client's own acked joins and leaves imply all agree.
 *
 * Rooms in generated payloads are the slots `$0`-`$2`, replaced at run time by room names new to
 * each run (shrinking re-runs cases). FUZZ_RUNS=N runs N cases; FUZZ_SEED/FUZZ_PATH replay one.
 */

const ACK_MS = 3000;
/** A frame over 16 KiB is cut off by the transport (the security suite covers that): stay under. */
const MAX_WIRE_BYTES = 12000;
const SLOTS = ['$0', '$1', '$2'];
const MEMBERSHIP_EVENTS: readonly FuzzEvent[] = ['room:join', 'room:leave'];

type CallShape = 'ack' | 'noAck' | 'noPayload' | 'extraArgs' | 'rawDeep';

/**
 * A `rawDeep` op's payload: `{ room, [field]: <depth levels of [..] or {"a":..}> }` written as
 * the frame's text, since socket.io-client's encoder (JSON.stringify) overflows its own stack
 * on such values before the server could see them. Up to 16 KiB that is 7,000 levels.
 */
interface RawDeep {
  room: string;
  field: string;
  shape: 'array' | 'object';
  depth: number;
}

interface Op {
  /** Which client emits it. */
  c: number;
  event: FuzzEvent;
  kind: 'valid' | 'hostile';
  /**
   * `ack`: emit(event, payload, cb); `noAck`: no callback; `noPayload`: emit(event, cb);
   * `extraArgs`: emit(event, payload, 7, cb); `rawDeep`: a hand-written frame (RawDeep), acked.
   */
  call: CallShape;
  payload: unknown;
}

interface Case {
  clients: number;
  /** The gateway of client 0; the others alternate from it, so both gateways have clients. */
  firstGateway: number;
  waves: Op[][];
  /** The last client closes its connection right after emitting its last wave. */
  closeEarly: boolean;
}

// ---------------------------------------------------------------------------------------------
// Generating cases
// ---------------------------------------------------------------------------------------------

/** How many objects and arrays deep a value goes (without recursing). */
function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) continue;
    max = Math.max(max, d + 1);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

function deepJson(shape: RawDeep['shape'], depth: number): string {
  return shape === 'array'
    ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

function wireBytes(payload: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(payload) ?? '');
  } catch {
    return Infinity;
  }
}

const payloadOptions = {
  room: fc.constantFrom(SLOTS[0], SLOTS[0], SLOTS[1], SLOTS[2]),
  // A small pool, so that one client retries a clientId (the retry must get the first ack).
  clientId: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('c1', 'c2') }, validClientId()),
};

function opArb(clients: number): fc.Arbitrary<Op> {
  return (
    fc
      .record({
        c: fc.nat({ max: clients - 1 }),
        event: fc.constantFrom<FuzzEvent>(
          'room:join',
          'room:join',
          'room:join',
          'room:leave',
          'message:send',
          'message:send',
          'message:send',
          'typing',
          'room:history',
          'room:members',
        ),
        kind: fc.constantFrom<Op['kind']>('valid', 'valid', 'valid', 'hostile', 'hostile'),
        call: fc.oneof(
          { weight: 16, arbitrary: fc.constant<CallShape>('ack') },
          { weight: 2, arbitrary: fc.constant<CallShape>('noAck') },
          { weight: 1, arbitrary: fc.constant<CallShape>('noPayload') },
          { weight: 1, arbitrary: fc.constant<CallShape>('extraArgs') },
          { weight: 1, arbitrary: fc.constant<CallShape>('rawDeep') },
        ),
      })
      .chain((op) => {
        if (op.call === 'rawDeep') {
          const deep: fc.Arbitrary<RawDeep> = fc.record({
            room: payloadOptions.room,
            field: fc.constantFrom(...contractKeys(op.event), 'extra'),
            shape: fc.constantFrom<RawDeep['shape']>('array', 'object'),
            depth: fc.integer({ min: 100, max: 7000 }),
          });
          return deep
            .filter((d) => deepJson(d.shape, d.depth).length <= 14000)
            .map((payload): Op => ({ ...op, kind: 'hostile', payload }));
        }
        return (
          op.kind === 'valid'
            ? validPayload(op.event, payloadOptions)
            : hostilePayload(op.event, payloadOptions)
        ).map((payload): Op => ({ ...op, payload }));
      })
      // Deeper values are the rawDeep ops' job: the client's encoder cannot write them.
      .filter(
        (op) =>
          op.call === 'rawDeep' ||
          (nestingDepth(op.payload) <= 1000 && wireBytes(op.payload) <= MAX_WIRE_BYTES),
      )
  );
}

const caseArb: fc.Arbitrary<Case> = fc.integer({ min: 2, max: 4 }).chain((clients) =>
  fc.record({
    clients: fc.constant(clients),
    firstGateway: fc.nat({ max: 1 }),
    waves: fc.array(fc.array(opArb(clients), { minLength: 1, maxLength: 10 }), {
      minLength: 1,
      maxLength: 4,
    }),
    closeEarly: fc.oneof(
      { weight: 4, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
  }),
);

// ---------------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------------

type Membership = 'in' | 'out' | 'unknown';

interface AckError {
  ok: false;
  error: { code: string; message: string };
}
type AnyAck = { ok: true; [field: string]: unknown } | AckError;

/** One emitted event and what became of it. */
interface Sent {
  op: Op;
  wave: number;
  /** Position in the case's emit order. */
  index: number;
  /** The payload with its room slot replaced, as emitted. */
  payload: unknown;
  /** What the handler receives (undefined for noPayload, an array for extraArgs, as encoded). */
  received: unknown;
  /** The room string the payload names, when it names one. */
  room?: string;
  verdict: ContractVerdict;
  ack?: AnyAck;
  /** The ack did not come (or the socket closed first). */
  noAck?: string;
  /** The socket's membership of `room` just before this event, per the model. */
  before?: Membership;
}

interface Fuzzed {
  index: number;
  name: string;
  gateway: number;
  client: TestClient;
  typing: TypingNotice[];
  disconnects: string[];
  sent: Sent[];
  member: Map<string, Membership>;
  /** `member` as it stood when each wave was emitted. */
  atWave: Map<string, Membership>[];
  closed: boolean;
}

let runCounter = 0;
const runTag = Date.now().toString(36).slice(-4);

/** The run's room for a slot; anything else unchanged (own `__proto__` keys kept as they are). */
function withRooms(payload: unknown, rooms: string[]): unknown {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload;
  if (ArrayBuffer.isView(payload)) return payload;
  const fields = payload as Record<string, unknown>;
  const slot = SLOTS.indexOf(fields.room as string);
  if (!Object.hasOwn(fields, 'room') || slot < 0) return payload;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    const value = key === 'room' ? rooms[slot] : fields[key];
    Object.defineProperty(copy, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

function containsBinary(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (ArrayBuffer.isView(v)) return true;
    if (typeof v === 'object' && v !== null) stack.push(...Object.values(v));
  }
  return false;
}

/**
 * What socket.io-client's encoder sends of `value`: a payload that carries a binary attachment
 * is rebuilt key by key by assignment (socket.io-parser's deconstructPacket), so an own
 * `__proto__` key never leaves the client (it becomes the copy's prototype, which JSON skips).
 */
function clientEncoded(value: unknown): unknown {
  if (!containsBinary(value)) return value;
  const rebuild = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
    if (Array.isArray(v)) return v.map(rebuild);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) out[key] = rebuild((v as Record<string, unknown>)[key]);
    return out;
  };
  return rebuild(value);
}

/** The contract's verdict on what the server decodes (JSON turns NaN into null and drops undefined). */
function wireVerdict(event: FuzzEvent, received: unknown): ContractVerdict {
  if (containsBinary(received)) return 'invalid';
  const json = JSON.stringify(received);
  return contractVerdict(event, json === undefined ? null : JSON.parse(json));
}

function roomOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const room = (payload as Record<string, unknown>).room;
  return typeof room === 'string' && Object.hasOwn(payload, 'room') ? room : undefined;
}

/** The result of an ok-acked `message:send`. */
function sendResult(s: Sent): { id: string; seq: number } {
  return s.ack as unknown as { id: string; seq: number };
}

function isUser(u: unknown): boolean {
  const user = u as { id?: unknown; name?: unknown } | null;
  return typeof user?.id === 'string' && typeof user?.name === 'string';
}

/** Why `m` is not a Message as PROTOCOL.md describes it, or undefined. */
function badMessage(m: Message, serverIds: string[]): string | undefined {
  if (typeof m !== 'object' || m === null) return 'not an object';
  if (typeof m.id !== 'string' || m.id === '') return 'no id';
  if (typeof m.room !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(m.room)) return 'bad room';
  if (!Number.isSafeInteger(m.seq) || m.seq < 1) return `bad seq ${m.seq}`;
  if (typeof m.text !== 'string' || !isWellFormedUtf16(m.text)) return 'text not well-formed';
  if (m.text !== m.text.trim()) return 'text not trimmed';
  if (codePointCount(m.text) < 1 || codePointCount(m.text) > 4000) return 'text length';
  if (!isUser(m.user)) return 'bad user';
  if (typeof m.ts !== 'number') return 'bad ts';
  if (!serverIds.includes(m.serverId)) return `serverId ${m.serverId}`;
  if (m.clientId !== undefined && typeof m.clientId !== 'string') return 'bad clientId';
  return undefined;
}

function short(value: unknown, max = 160): string {
  let s: string;
  try {
    s = fc.stringify(value);
  } catch {
    s = '(too deep to print)';
  }
  return s.length > max ? `${s.slice(0, max)}\u2026` : s;
}

class CaseRun {
  readonly violations: string[] = [];
  readonly rooms: string[];
  readonly tag: string;
  readonly fuzzed: Fuzzed[] = [];
  readonly all: Sent[] = [];
  private readonly probes: TestClient[] = [];

  constructor(
    private readonly cluster: TestCluster,
    private readonly spec: Case,
  ) {
    this.tag = `fz${runTag}${++runCounter}`;
    this.rooms = SLOTS.map((_, i) => `${this.tag}r${i}`);
  }

  private fail(what: string): void {
    if (this.violations.length < 40) this.violations.push(what);
  }

  async run(): Promise<void> {
    const baseline = await this.settledState();
    try {
      await this.connect();
      for (let w = 0; w < this.spec.waves.length; w++) await this.wave(w);
      await this.settleUnknowns();
      this.checkFinalOrder();
      await this.probeMembership();
      this.checkDeliveries();
      await this.checkProcesses();
    } finally {
      for (const f of this.fuzzed) f.client.close();
      for (const p of this.probes) p.close();
    }
    await this.checkCleanUp(baseline);
    if (this.violations.length > 0) {
      throw new Error(
        `${this.violations.length} violation(s) in run ${this.tag} (rooms $0-$2 = ${this.rooms.join(', ')}):\n- ` +
          this.violations.join('\n- '),
      );
    }
  }

  private async connect(): Promise<void> {
    const { gateways } = this.cluster;
    for (let i = 0; i < this.spec.clients; i++) {
      const gateway = (this.spec.firstGateway + i) % 2;
      const name = `${this.tag}c${i}`;
      const client = await connectClient(gateways[gateway].url, name);
      const f: Fuzzed = {
        index: i,
        name,
        gateway,
        client,
        typing: [],
        disconnects: [],
        sent: [],
        member: new Map(),
        atWave: [],
        closed: false,
      };
      client.socket.on('typing', (t: TypingNotice) => f.typing.push(t));
      client.socket.on('disconnect', (why) => f.disconnects.push(why));
      this.fuzzed.push(f);
    }
  }

  /** Emits one wave pipelined, waits for its acks, checks them, then its deliveries. */
  private async wave(w: number): Promise<void> {
    const waiting: Promise<void>[] = [];
    const sentNow: Sent[] = [];
    for (const f of this.fuzzed) f.atWave[w] = new Map(f.member);
    for (const op of this.spec.waves[w]) {
      const f = this.fuzzed[op.c];
      const payload = withRooms(op.payload, this.rooms);
      const raw = op.call === 'rawDeep' ? (payload as RawDeep) : undefined;
      // For rawDeep, a stand-in with the same fields: every field of the contract is a scalar.
      const received = raw
        ? { ...(raw.field === 'room' ? {} : { room: raw.room }), [raw.field]: [] }
        : clientEncoded(
            op.call === 'noPayload' ? undefined : op.call === 'extraArgs' ? [payload, 7] : payload,
          );
      const s: Sent = {
        op,
        wave: w,
        index: this.all.length,
        payload,
        received,
        room: roomOf(received),
        verdict: wireVerdict(op.event, received),
      };
      f.sent.push(s);
      this.all.push(s);
      sentNow.push(s);
      waiting.push(this.emit(f, s));
    }
    const last = this.spec.waves.length - 1;
    if (this.spec.closeEarly && w === last) {
      const f = this.fuzzed[this.fuzzed.length - 1];
      f.closed = true;
      f.client.close();
    }
    await Promise.all(waiting);
    for (const s of sentNow) this.checkAck(this.fuzzed[s.op.c], s);
    for (const s of sentNow) this.applyModel(this.fuzzed[s.op.c], s);
    await this.deliveryBarrier(w);
  }

  private emit(f: Fuzzed, s: Sent): Promise<void> {
    // Any event, any payload, any arguments on purpose: the contract-typed socket is bypassed.
    const socket = f.client.socket as unknown as Socket;
    const { event, call } = s.op;
    if (call === 'noAck') {
      socket.emit(event, s.payload);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (err: Error | null, ack?: AnyAck) => {
        if (err) s.noAck = err.message;
        else s.ack = ack;
        resolve();
      };
      if (call === 'rawDeep') {
        this.emitRaw(f, event, s.payload as RawDeep, done);
        return;
      }
      const timed = socket.timeout(ACK_MS);
      if (call === 'noPayload') timed.emit(event, done);
      else if (call === 'extraArgs') timed.emit(event, s.payload, 7, done);
      else timed.emit(event, s.payload, done);
    });
  }

  /** Writes a rawDeep frame and registers its ack as socket.io-client would. */
  private emitRaw(
    f: Fuzzed,
    event: FuzzEvent,
    d: RawDeep,
    done: (err: Error | null, ack?: AnyAck) => void,
  ): void {
    type Ack = ((err: Error | null, ack?: AnyAck) => void) & { withError?: boolean };
    const socket = f.client.socket as unknown as { ids: number; acks: Record<number, Ack> };
    const id = socket.ids++;
    const timer = setTimeout(() => {
      delete socket.acks[id];
      done(new Error('operation has timed out'));
    }, ACK_MS);
    const ack: Ack = (err, result) => {
      clearTimeout(timer);
      done(err, result);
    };
    ack.withError = true;
    socket.acks[id] = ack;
    const room = d.field === 'room' ? '' : `"room":${JSON.stringify(d.room)},`;
    const body = `${room}${JSON.stringify(d.field)}:${deepJson(d.shape, d.depth)}`;
    f.client.socket.io.engine.write(`2${id}[${JSON.stringify(event)},{${body}}]`);
  }

  private label(f: Fuzzed, s: Sent): string {
    const how = s.op.call === 'ack' ? '' : ` (${s.op.call})`;
    return `c${f.index}@g${f.gateway + 1} ${s.op.event}${how} #${s.index} ${short(s.payload)}`;
  }

  /** (a) the ack's shape and code, (b) no internal text, the contract's refusals, ok results. */
  private checkAck(f: Fuzzed, s: Sent): void {
    if (s.op.call === 'noAck') return;
    const what = this.label(f, s);
    if (!s.ack) {
      if (!f.closed) this.fail(`${what}: no ack within ${ACK_MS} ms (${s.noAck})`);
      return;
    }
    const ack = s.ack as unknown as Record<string, unknown>;
    if (typeof ack !== 'object' || ack === null || (ack.ok !== true && ack.ok !== false)) {
      this.fail(`${what}: ack ${short(ack)} is neither {ok:true} nor {ok:false}`);
      return;
    }
    if (s.ack.ok === false) {
      const { error } = s.ack;
      if (
        typeof error !== 'object' ||
        error === null ||
        !PROTOCOL_ERROR_CODES.includes(error.code) ||
        typeof error.message !== 'string' ||
        error.message === ''
      ) {
        this.fail(`${what}: error ack ${short(ack)} is not {code from PROTOCOL.md, message}`);
        return;
      }
      const leak = internalTextIn(error.message, s.received);
      if (leak)
        this.fail(`${what}: ${error.code} message shows ${leak}: ${short(error.message, 300)}`);
      return;
    }
    if (s.verdict === 'invalid') {
      this.fail(`${what}: answered ok to a payload the contract refuses: ${short(ack, 300)}`);
      return;
    }
    const sent = s.received as Record<string, unknown>;
    const problem = this.okResultProblem(s.op.event, sent, ack);
    if (problem) this.fail(`${what}: ok ack ${problem}: ${short(ack, 300)}`);
  }

  /** The ok result fields PROTOCOL.md names (those the gateway implements). */
  private okResultProblem(
    event: FuzzEvent,
    sent: Record<string, unknown>,
    ack: Record<string, unknown>,
  ): string | undefined {
    const serverIds = [0, 1].map((g) => this.cluster.gatewayId(g));
    const inOrder = (list: unknown, max: number, after = 0, before = Infinity) => {
      if (!Array.isArray(list)) return 'has no message list';
      if (list.length > max) return `holds ${list.length} messages, over ${max}`;
      let prev = after;
      for (const m of list as Message[]) {
        const bad = badMessage(m, serverIds);
        if (bad) return `holds a bad message (${bad})`;
        if (m.room !== sent.room) return `holds a message of room ${m.room}`;
        if (m.seq <= prev || m.seq >= before) return `holds seq ${m.seq} out of order or range`;
        prev = m.seq;
      }
      return undefined;
    };
    switch (event) {
      case 'room:join': {
        if (ack.room !== sent.room) return `names room ${short(ack.room)}`;
        if (!Array.isArray(ack.members) || !ack.members.every(isUser)) return 'has bad members';
        if (typeof ack.more !== 'boolean' || typeof ack.complete !== 'boolean')
          return 'lacks more/complete';
        const since = sent.sinceSeq as number | undefined;
        return inOrder(ack.history, since === undefined ? 50 : 100, since ?? 0);
      }
      case 'room:leave':
        return ack.room === sent.room ? undefined : `names room ${short(ack.room)}`;
      case 'message:send':
        if (typeof ack.id !== 'string' || !Number.isSafeInteger(ack.seq) || (ack.seq as number) < 1)
          return 'lacks id or seq';
        return typeof ack.ts === 'number' ? undefined : 'lacks ts';
      case 'room:history':
        return inOrder(
          ack.messages,
          (sent.limit as number | undefined) ?? 50,
          (sent.afterSeq as number | undefined) ?? 0,
          (sent.beforeSeq as number | undefined) ?? Infinity,
        );
      case 'room:members': {
        if (!Array.isArray(ack.members) || !ack.members.every(isUser)) return 'has bad members';
        const limit = (sent.limit as number | undefined) ?? 100;
        return ack.members.length > limit
          ? `lists ${ack.members.length}, over ${limit}`
          : undefined;
      }
      case 'typing':
        return undefined;
    }
  }

  /**
   * The membership the socket's own events imply ("its own events say"), applied in emit order
   * (one socket's joins, leaves, sends and typing apply in the order sent): an acked join or
   * leave by its ack, an unacked one unknown until settled, one the contract refuses no change.
   */
  private applyModel(f: Fuzzed, s: Sent): void {
    const room = s.room;
    if (room === undefined) return;
    const before = f.member.get(room) ?? 'out';
    s.before = before;
    const { event } = s.op;
    if (!['room:join', 'room:leave', 'message:send', 'typing'].includes(event)) return;
    const changes = MEMBERSHIP_EVENTS.includes(event);
    if (!s.ack) {
      // No callback, or no answer: whatever it did is unknown.
      if (changes && s.verdict !== 'invalid') f.member.set(room, 'unknown');
      return;
    }
    const what = this.label(f, s);
    if (s.ack.ok) {
      if (event !== 'room:join' && before === 'out') {
        this.fail(`${what}: answered ok though the socket was not in ${room} when it was sent`);
      }
      if (event === 'room:join') f.member.set(room, 'in');
      if (event === 'room:leave') f.member.set(room, 'out');
      return;
    }
    const code = s.ack.error?.code;
    if (code === 'NOT_IN_ROOM') {
      if (before === 'in' && !f.closed) {
        this.fail(
          `${what}: answered NOT_IN_ROOM though the socket's earlier join of ${room} was acked ok`,
        );
      }
      if (event === 'room:leave') f.member.set(room, 'out');
    } else if (code === 'UNAVAILABLE' && changes) {
      f.member.set(room, 'unknown');
    }
  }

  /**
   * A join or leave without an ack (no callback, or none in time) leaves the membership unknown,
   * and may still be on its way. `typing: false` is never throttled, waits for the socket's
   * earlier joins and leaves, and answers NOT_IN_ROOM unless the socket is in the room: its ack
   * settles what they did before the probes look.
   */
  private async settleUnknowns(): Promise<void> {
    const asks: Promise<void>[] = [];
    for (const f of this.fuzzed) {
      if (f.closed) continue;
      for (const [room, state] of f.member) {
        if (state !== 'unknown' || !/^[A-Za-z0-9_-]{1,64}$/.test(room)) continue;
        asks.push(
          f.client.ack<AnyAck>('typing', { room, typing: false }, ACK_MS).then(
            (ack) => {
              if (ack.ok) f.member.set(room, 'in');
              else if (ack.error.code === 'NOT_IN_ROOM') f.member.set(room, 'out');
            },
            () => undefined,
          ),
        );
      }
    }
    await Promise.all(asks);
  }

  /**
   * Whether `f` holds message `id` of `room`: live, or in the history of one of its acked joins
   * (a member's repeated join holds live messages back and answers them in its history).
   */
  private holds(f: Fuzzed, room: string, id: string, seq: number, fromWave: number): boolean {
    if (f.client.messages.some((m) => m.id === id)) return true;
    return f.sent.some(
      (s) =>
        s.op.event === 'room:join' &&
        s.room === room &&
        s.ack?.ok === true &&
        // Any of its joins: a retried clientId is the message an earlier wave sent.
        (((s.ack.history as Message[]) ?? []).some((m) => m.id === id) ||
          // A join that says it has seen up to sinceSeq is not sent those messages again.
          (s.wave >= fromWave && ((s.received as { sinceSeq?: number }).sinceSeq ?? -1) >= seq)),
    );
  }

  /**
   * The clients that must get an ok-acked send: in the room from before it was emitted until
   * its ack (the sender by its own earlier events, the others by a join acked in an earlier wave),
   * with no leave emitted in between.
   */
  private entitled(s: Sent): Fuzzed[] {
    const room = s.room!;
    const sender = this.fuzzed[s.op.c];
    const leavesAfter = (f: Fuzzed, index: number) =>
      f.sent.some(
        (o) =>
          o.wave === s.wave && o.index > index && o.room === room && o.op.event === 'room:leave',
      );
    return this.fuzzed.filter((f) => {
      if (f.closed) return false;
      if (f === sender) return s.before === 'in' && !leavesAfter(f, s.index);
      return f.atWave[s.wave].get(room) === 'in' && !leavesAfter(f, -1);
    });
  }

  /** (d) after a wave's acks, its ok-acked sends reach every entitled client (up to 3 s). */
  private async deliveryBarrier(w: number): Promise<void> {
    const expected: [Fuzzed, Sent][] = [];
    const seen = new Set<string>();
    for (const s of this.all) {
      if (s.op.event !== 'message:send' || s.ack?.ok !== true) continue;
      // A clientId retry answers with a message accepted earlier: who must get it was settled
      // when it was first acked.
      const first = !seen.has(sendResult(s).id);
      seen.add(sendResult(s).id);
      if (s.wave !== w || !first) continue;
      for (const f of this.entitled(s)) expected.push([f, s]);
    }
    const missing = () =>
      expected.filter(
        ([f, s]) => !this.holds(f, s.room!, sendResult(s).id, sendResult(s).seq, s.wave),
      );
    await waitFor(() => missing().length === 0, 3000, 'deliveries', 20).catch(() => undefined);
    for (const [f, s] of missing()) {
      this.fail(
        `c${f.index}@g${f.gateway + 1} never got ${this.label(this.fuzzed[s.op.c], s)} ` +
          `(seq ${sendResult(s).seq}), though in ${s.room} throughout`,
      );
    }
  }

  /** Each client's live messages: per room in strictly increasing seq, each one well-formed. */
  private checkFinalOrder(): void {
    const serverIds = [0, 1].map((g) => this.cluster.gatewayId(g));
    for (const f of this.fuzzed) {
      if (!f.closed && f.disconnects.length > 0) {
        this.fail(`c${f.index} was disconnected by the server: ${f.disconnects.join(', ')}`);
      }
      const last = new Map<string, number>();
      for (const m of f.client.messages) {
        const bad = badMessage(m, serverIds);
        if (bad) this.fail(`c${f.index} got a bad message (${bad}): ${short(m)}`);
        const prev = last.get(m.room) ?? 0;
        if (m.seq <= prev) {
          this.fail(
            `c${f.index} got seq ${m.seq} of ${m.room} after seq ${prev} (duplicate or out of order)`,
          );
        }
        last.set(m.room, Math.max(prev, m.seq));
      }
      for (const t of f.typing) {
        if (t.user?.name === f.name)
          this.fail(`c${f.index} got its own typing notice in ${t.room}`);
      }
    }
  }

  /**
   * (c) for each room, one probe per gateway joins and sends: the fuzzed clients that receive
   * the probes, the ones `room:members` lists and the ones the model puts in the room agree.
   */
  private async probeMembership(): Promise<void> {
    const { gateways } = this.cluster;
    for (const g of [0, 1])
      this.probes.push(await connectClient(gateways[g].url, `${this.tag}p${g}`));
    for (const ack of await Promise.all(
      this.probes.flatMap((p) => this.rooms.map((room) => p.ack<AnyAck>('room:join', { room }))),
    )) {
      if (!ack.ok) this.fail(`a probe could not join: ${short(ack)}`);
    }
    const live = this.fuzzed.filter((f) => !f.closed);
    const listed = new Map<string, Set<string>>();
    const agrees = (room: string) => {
      const names = listed.get(room);
      if (!names) return false;
      for (const f of this.fuzzed) {
        const state = f.closed ? 'out' : (f.member.get(room) ?? 'out');
        if (state !== 'unknown' && names.has(f.name) !== (state === 'in')) return false;
      }
      return true;
    };
    let round = 0;
    await waitFor(
      async () => {
        const probe = this.probes[round++ % 2];
        const acks = await Promise.all(
          this.rooms.map((room) => probe.ack<AnyAck>('room:members', { room })),
        );
        acks.forEach((ack, i) => {
          if (ack.ok) {
            const members = ack.members as { name: string }[];
            listed.set(this.rooms[i], new Set(members.map((m) => m.name)));
          }
        });
        return this.rooms.every(agrees);
      },
      3000,
      'room:members to match the acked joins and leaves',
      100,
    ).catch(() => undefined);

    const probeTexts = this.probes.flatMap((_, p) =>
      this.rooms.map((room) => `probe ${p} ${room}`),
    );
    const sends = await Promise.all(
      this.probes.flatMap((probe, p) =>
        this.rooms.map((room) =>
          probe.ack<AnyAck>('message:send', { room, text: `probe ${p} ${room}` }),
        ),
      ),
    );
    for (const ack of sends) if (!ack.ok) this.fail(`a probe could not send: ${short(ack)}`);
    await waitFor(
      () =>
        this.probes.every((probe) =>
          probeTexts.every((t) => probe.messages.some((m) => m.text === t)),
        ),
      3000,
      'the probes to receive each other',
    ).catch(() => this.fail('the probes did not receive each other within 3 s'));
    const receivers = (room: string, text: string) =>
      new Set(
        live
          .filter((f) => f.client.messages.some((m) => m.room === room && m.text === text))
          .map((f) => f.name),
      );
    const settled = () =>
      this.rooms.every((room) =>
        this.probes.every((_, p) => {
          const got = receivers(room, `probe ${p} ${room}`);
          return live.every((f) => {
            const state = f.member.get(room) ?? 'out';
            return state === 'unknown' || got.has(f.name) === (state === 'in');
          });
        }),
      );
    await waitFor(settled, 1500, 'the probes at every member', 20).catch(() => undefined);

    for (const room of this.rooms) {
      const names = listed.get(room) ?? new Set<string>();
      for (const f of this.fuzzed) {
        const state = f.closed ? 'out' : (f.member.get(room) ?? 'out');
        const inList = names.has(f.name);
        const got = this.probes.map((_, p) => receivers(room, `probe ${p} ${room}`).has(f.name));
        const where = `c${f.index}@g${f.gateway + 1}${f.closed ? ' (closed)' : ''} in ${room}`;
        if (state !== 'unknown' && inList !== (state === 'in')) {
          this.fail(
            `${where}: its own events say ${state}, room:members ${inList ? 'lists' : 'omits'} it`,
          );
        }
        for (const [p, yes] of got.entries()) {
          if (state !== 'unknown' && yes !== (state === 'in')) {
            this.fail(
              `${where}: its own events say ${state}, it ${yes ? 'got' : 'missed'} probe ${p}'s message`,
            );
          }
          if (state === 'unknown' && yes !== inList) {
            this.fail(
              `${where}: room:members ${inList ? 'lists' : 'omits'} it, it ${yes ? 'got' : 'missed'} probe ${p}'s message`,
            );
          }
        }
      }
    }
  }

  /**
   * (d) live messages against the acks: each ok-acked send arrives as sent (at most once per
   * client: checkFinalOrder), a clientId retry gets the first ack, and no refused send arrives.
   */
  private checkDeliveries(): void {
    const byId = new Map<string, Sent[]>();
    const bySeq = new Map<string, string>();
    for (const s of this.all) {
      if (s.op.event !== 'message:send' || s.ack?.ok !== true) continue;
      const id = s.ack.id as string;
      byId.set(id, [...(byId.get(id) ?? []), s]);
      const key = `${s.room}#${String(s.ack.seq)}`;
      if (bySeq.has(key) && bySeq.get(key) !== id) {
        this.fail(`two messages of ${s.room} were acked with seq ${String(s.ack.seq)}`);
      }
      bySeq.set(key, id);
    }
    for (const [id, sends] of byId) {
      const seqs = new Set(sends.map((s) => sendResult(s).seq));
      if (seqs.size > 1) this.fail(`message ${id} was acked with seqs ${[...seqs].join(', ')}`);
      const senders = new Set(sends.map((s) => s.op.c));
      if (senders.size > 1)
        this.fail(`message ${id} was acked to clients ${[...senders].join(', ')}`);
    }
    const retries = new Map<string, Sent>();
    for (const s of this.all) {
      const clientId = (s.received as { clientId?: unknown } | null)?.clientId;
      if (s.op.event !== 'message:send' || s.ack?.ok !== true || typeof clientId !== 'string')
        continue;
      const key = `${s.op.c}|${s.room}|${clientId}`;
      const first = retries.get(key);
      if (first && (first.ack as Record<string, unknown>).id !== s.ack.id) {
        this.fail(
          `${this.label(this.fuzzed[s.op.c], s)}: a retried clientId got a new message ` +
            `(${String(s.ack.id)}), not the first send's ${String((first.ack as Record<string, unknown>).id)}`,
        );
      }
      if (!first) retries.set(key, s);
    }
    const names = new Map(this.fuzzed.map((f) => [f.name, f]));
    for (const f of this.fuzzed) {
      for (const m of f.client.messages) {
        const sends = byId.get(m.id);
        if (sends) {
          const s = sends[0];
          const sender = this.fuzzed[s.op.c];
          const texts = sends.map((x) => ((x.received as { text: string }).text ?? '').trim());
          if (m.room !== s.room || m.seq !== sendResult(s).seq || m.user?.name !== sender.name) {
            this.fail(`c${f.index} got ${short(m)} for ack ${short(s.ack)} of c${sender.index}`);
          } else if (!texts.includes(m.text) && !this.isRetryText(sender, s, m.text)) {
            this.fail(`c${f.index} got text ${short(m.text)} for a send of ${short(texts)}`);
          } else if (m.serverId !== this.cluster.gatewayId(sender.gateway)) {
            this.fail(
              `c${f.index} got ${m.id} from serverId ${m.serverId}, sent via g${sender.gateway + 1}`,
            );
          }
          continue;
        }
        const author = names.get(m.user?.name);
        if (!author) continue; // a probe, or a client of another run
        const could = author.sent.some(
          (s) =>
            s.op.event === 'message:send' &&
            s.room === m.room &&
            typeof (s.received as { text?: unknown }).text === 'string' &&
            ((s.received as { text: string }).text.trim() === m.text ||
              this.isRetryText(author, s, m.text)) &&
            (!s.ack || s.ack.ok || s.ack.error?.code === 'UNAVAILABLE'),
        );
        if (!could) {
          this.fail(
            `c${f.index} got ${short(m)}: c${author.index} sent no such message that was not refused`,
          );
        }
      }
    }
  }

  /** A send retried with a clientId carries the first send's text. */
  private isRetryText(author: Fuzzed, s: Sent, text: string): boolean {
    const clientId = (s.received as { clientId?: unknown }).clientId;
    if (typeof clientId !== 'string') return false;
    return author.sent.some(
      (o) =>
        o.op.event === 'message:send' &&
        o.room === s.room &&
        (o.received as { clientId?: unknown } | null)?.clientId === clientId &&
        typeof (o.received as { text?: unknown }).text === 'string' &&
        (o.received as { text: string }).text.trim() === text,
    );
  }

  /** (e) every process still runs and both gateways answer /health. */
  private async checkProcesses(): Promise<void> {
    const { gateways, presence, api } = this.cluster;
    for (const svc of [...gateways, presence, api]) {
      if (svc.child.exitCode !== null || svc.child.signalCode !== null) {
        this.fail(
          `${svc.app} on :${svc.port} exited (${svc.child.exitCode ?? svc.child.signalCode}): ` +
            svc.logs.join('').slice(-1500),
        );
      }
    }
    for (const [i, gw] of gateways.entries()) {
      const status = await fetch(`${gw.url}/health`).then(
        (r) => r.status,
        (err: Error) => err.message,
      );
      if (status !== 200) this.fail(`gateway g${i + 1} /health answered ${status}`);
    }
  }

  /** Connections, rooms and broker bindings as the cluster reports them. */
  private async settledState(): Promise<string> {
    const stats = await this.cluster.getStats();
    const bindings = await Promise.all(
      this.cluster.gateways.map((g) => readMetric(g.url, 'roomcast_room_bindings')),
    );
    return `connections ${stats.connections}, rooms ${stats.rooms}, bindings ${bindings.join('/')}`;
  }

  /** Once every client is gone, presence and the gateways' bindings are back where they were. */
  private async checkCleanUp(baseline: string): Promise<void> {
    let now = '';
    await waitFor(
      async () => (now = await this.settledState()) === baseline,
      5000,
      'the clean-up',
      100,
    ).catch(() => this.fail(`after every client closed: ${now}; before the case: ${baseline}`));
  }
}

// ---------------------------------------------------------------------------------------------

describe('fuzzing the client events (2 gateways, presence, stats as processes)', () => {
  let cluster: TestCluster;
  /** Cases in `npm test` (FUZZ_RUNS for a long run): every one must run, or the test fails. */
  const DEFAULT_RUNS = 20;
  const runs = fuzzRuns(DEFAULT_RUNS);
  // Room for the runs and for shrinking a failure (each shrink step is a whole case). runFuzz
  // fails a run the limit cuts short (failOnInterrupt) and prints how many cases ran.
  const timeLimitMs = 30000 + runs * 3000;

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    // No limit raised: a case's clients stay within the default budgets (MAX_ROOMS_PER_CONNECTION
    // 100, 50 events/s with a burst of 100, 20 sends/s with a burst of 40), and every client and
    // probe is new to its case. RATE_LIMITED answers (typing, mostly) are part of what is fuzzed.
    cluster = await startCluster({ label: 'fuzz', gateways: 2, gatewayEnv: {} });
  }, 60000);

  afterAll(async () => {
    await cluster?.stop();
  }, 30000);

  it(
    'keeps acks, membership and delivery consistent under random valid and hostile events',
    async () => {
      let first: string | undefined;
      await runFuzz(
        'e2e client events',
        fc.asyncProperty(caseArb, async (spec) => {
          try {
            await new CaseRun(cluster, spec).run();
          } catch (err) {
            // Shrinking re-runs smaller cases; if a process died, only the first failure is honest.
            first ??= (err as Error).message;
            throw err;
          }
        }),
        { defaultRuns: DEFAULT_RUNS, timeLimitMs },
      ).catch((err: Error) => {
        // (No first failure: the time limit cut the run short.)
        throw new Error(
          first ? `${err.message}\n\nfirst failure, before shrinking:\n${first}` : err.message,
        );
      });
    },
    timeLimitMs + 60000,
  );
});
