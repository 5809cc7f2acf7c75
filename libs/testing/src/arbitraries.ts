/**
 * Property-based fuzzing of the client events (PROTOCOL.md, "Client to server"): fast-check
 * arbitraries for valid and hostile payloads, the contract written as a predicate of its own (an
 * oracle read from PROTOCOL.md, not from the DTOs it checks), and one runner that bounds a
 * property by case count and time and prints how to replay a failure.
 *
 * `FUZZ_RUNS=N` runs N cases per property instead of the suite's default (a few seconds);
 * `FUZZ_SEED=S FUZZ_PATH=P` replays the failure fast-check reported with that seed and path.
 */
import fc from 'fast-check';

/** The client events this module fuzzes (every one the gateway implements but `rooms:unread`). */
export const FUZZ_EVENTS = [
  'room:join',
  'room:leave',
  'room:members',
  'message:send',
  'room:history',
  'typing',
  'room:read',
  'message:edit',
  'message:delete',
  'message:react',
  'message:reactors',
  'auth:refresh',
] as const;
export type FuzzEvent = (typeof FUZZ_EVENTS)[number];

/** The error codes PROTOCOL.md lists: an ack error carries one of these and nothing else. */
export const PROTOCOL_ERROR_CODES: readonly string[] = [
  'INVALID_PAYLOAD',
  'NOT_IN_ROOM',
  'FORBIDDEN',
  'RATE_LIMITED',
  'TOO_LARGE',
  'NOT_FOUND',
  'UNAVAILABLE',
];

// ---------------------------------------------------------------------------------------------
// The contract as a predicate
// ---------------------------------------------------------------------------------------------

/** `valid`: the contract accepts it; `invalid`: it refuses it; `either`: the contract is silent. */
export type ContractVerdict = 'valid' | 'invalid' | 'either';

type FieldRule = (value: unknown) => ContractVerdict;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Spelled out here rather than imported: this is the oracle, not the implementation. */
const ROOM = /^[A-Za-z0-9_-]{1,64}$/;

const verdict = (ok: boolean): ContractVerdict => (ok ? 'valid' : 'invalid');
const room: FieldRule = (v) => verdict(typeof v === 'string' && ROOM.test(v));
const intIn =
  (min: number, max: number): FieldRule =>
  (v) =>
    verdict(typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max);
const seq = intIn(0, MAX_SAFE);
const text: FieldRule = (v) => {
  if (typeof v !== 'string' || !isWellFormedUtf16(v)) return 'invalid';
  const n = codePointCount(v.trim());
  return verdict(n >= 1 && n <= 4000);
};
const clientId: FieldRule = (v) => {
  if (typeof v !== 'string' || !isWellFormedUtf16(v)) return 'invalid';
  const n = codePointCount(v);
  return verdict(n >= 1 && n <= 64);
};
const emoji: FieldRule = (v) => {
  if (typeof v !== 'string' || !isWellFormedUtf16(v)) return 'invalid';
  const n = codePointCount(v);
  return verdict(n >= 1 && n <= 32);
};
/**
 * A message id: one the server made (a UUID) is valid; of other strings the contract is silent
 * (refused as a payload, or as NOT_FOUND).
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const messageId: FieldRule = (v) =>
  typeof v !== 'string' ? 'invalid' : UUID.test(v) ? 'valid' : 'either';
/** `auth:refresh`'s token: 1-8192 characters (whether it verifies is the server's answer). */
const token: FieldRule = (v) => {
  if (typeof v !== 'string' || !isWellFormedUtf16(v)) return 'invalid';
  const n = codePointCount(v);
  return verdict(n >= 1 && n <= 8192);
};
/** `next` from an earlier page: opaque, so only a string can be one. */
const cursor: FieldRule = (v) => (typeof v === 'string' ? 'either' : 'invalid');

/** Each event's fields (PROTOCOL.md's table): required first, then optional. */
export const CONTRACT: Record<
  FuzzEvent,
  { required: Record<string, FieldRule>; optional: Record<string, FieldRule> }
> = {
  'room:join': { required: { room }, optional: { sinceSeq: seq } },
  'room:leave': { required: { room }, optional: {} },
  'room:members': { required: { room }, optional: { cursor, limit: intIn(1, 500) } },
  'message:send': { required: { room, text }, optional: { clientId } },
  'room:history': {
    required: { room },
    optional: { beforeSeq: seq, afterSeq: seq, limit: intIn(1, 100) },
  },
  typing: { required: { room, typing: (v) => verdict(typeof v === 'boolean') }, optional: {} },
  'room:read': { required: { room, seq }, optional: {} },
  // clientId on updates: docs/protocol.md's extension (a safe retry, as for a send).
  'message:edit': { required: { room, id: messageId, text }, optional: { clientId } },
  'message:delete': { required: { room, id: messageId }, optional: { clientId } },
  'message:react': {
    required: { room, id: messageId, emoji, on: (v) => verdict(typeof v === 'boolean') },
    optional: { clientId },
  },
  'message:reactors': {
    required: { room, id: messageId, emoji },
    optional: { cursor, limit: intIn(1, 500) },
  },
  'auth:refresh': { required: { token }, optional: {} },
};

/** Every field name of an event's payload. */
export function contractKeys(event: FuzzEvent): string[] {
  const { required, optional } = CONTRACT[event];
  return [...Object.keys(required), ...Object.keys(optional)];
}

/**
 * What the contract says of `payload` as the server receives it: one plain object holding the
 * event's required fields, optional ones absent (undefined) or valid, and no other key.
 */
export function contractVerdict(event: FuzzEvent, payload: unknown): ContractVerdict {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return 'invalid';
  if (Buffer.isBuffer(payload) || ArrayBuffer.isView(payload)) return 'invalid';
  const proto = Object.getPrototypeOf(payload) as unknown;
  const { required, optional } = CONTRACT[event];
  const fields = payload as Record<string, unknown>;
  let result: ContractVerdict = proto === Object.prototype ? 'valid' : 'either';
  const worst = (v: ContractVerdict) => {
    if (v === 'invalid') result = 'invalid';
    else if (v === 'either' && result === 'valid') result = 'either';
  };
  for (const key of Object.keys(fields)) {
    if (!Object.hasOwn(required, key) && !Object.hasOwn(optional, key)) return 'invalid';
  }
  for (const [key, rule] of Object.entries(required)) {
    worst(Object.hasOwn(fields, key) ? rule(fields[key]) : 'invalid');
  }
  for (const [key, rule] of Object.entries(optional)) {
    if (Object.hasOwn(fields, key) && fields[key] !== undefined) worst(rule(fields[key]));
  }
  return result;
}

/** Well-formed UTF-16: every surrogate is half of a pair (written apart from contracts/text.ts). */
export function isWellFormedUtf16(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

/** Code points, counting a lone surrogate as one (what the string iterator yields). */
export function codePointCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) {
    const c = s.charCodeAt(i);
    const d = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) i++;
  }
  return n;
}

/** Text of the server's insides that must never reach a client in an error message. */
const INTERNAL_TEXT: readonly [string, RegExp][] = [
  ['a Redis error', /\bERR |WRONGTYPE|NOSCRIPT|BUSYGROUP|OOM command|\bREADONLY\b/],
  ['an exception', /\b[A-Za-z]*Error:|\b(?:TypeError|RangeError|SyntaxError|ReferenceError)\b/],
  ['a stack frame', /\bat [^\s]+ \(|\bat .*:\d+:\d+|node_modules|\/dist\//],
  ['Lua or cjson', /\bLua\b|lua_|cjson|user_script/],
  ['a socket error', /\bE(?:CONN[A-Z]+|PIPE|TIMEDOUT|HOSTUNREACH|NOTFOUND|AI_AGAIN)\b/],
  ['a broker error', /PRECONDITION_FAILED|NOT_FOUND - |CHANNEL_ERROR|amqp/i],
  [
    'a JavaScript failure',
    /Maximum call stack|Cannot read propert|is not a function|is not iterable|\[object Object\]|\bundefined\b|\bnull\b|\bNaN\b/,
  ],
];

/** Every string a payload holds (keys and values, any depth), longest first: what a client wrote. */
export function clientStrings(payload: unknown, limit = 10000): string[] {
  const found = new Set<string>();
  const stack: unknown[] = [payload];
  while (stack.length > 0 && found.size < limit) {
    const v = stack.pop();
    if (typeof v === 'string') found.add(v);
    else if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) {
      for (const k of Object.keys(v)) {
        found.add(k);
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/**
 * Why `message` looks like it leaks the server's insides (undefined when it does not), once
 * whatever the client itself sent (echoed keys, room names) is taken out of it.
 */
export function internalTextIn(message: string, payload: unknown): string | undefined {
  let own = message;
  // Shorter strings cannot spell any of the patterns, and taking them out would blind the check.
  for (const s of clientStrings(payload)) {
    if (s.length >= 3 && own.includes(s)) own = own.split(s).join('\u2026');
  }
  for (const [what, pattern] of INTERNAL_TEXT) {
    const m = pattern.exec(own);
    if (m) return `${what} (${JSON.stringify(m[0])})`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Hostile strings and values
// ---------------------------------------------------------------------------------------------

export const EMOJI = '\u{1F600}';
const FAMILY = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}';

/** Pieces that break naive string handling, to be glued into longer strings. */
export const HOSTILE_FRAGMENTS: readonly string[] = [
  '\uD800', // lone high surrogate
  '\uDC00', // lone low surrogate
  '\uDBFF',
  '\uDFFF',
  EMOJI.slice(0, 1), // an emoji cut in half: its high surrogate alone
  EMOJI.slice(1), // ... and its low one
  EMOJI.slice(1) + EMOJI.slice(0, 1), // a pair in the wrong order
  '\u200B', // zero-width space (not whitespace to trim())
  '\u200C',
  '\u200D',
  '\u200E', // left-to-right mark
  '\u200F',
  '\u202A',
  '\u202E', // right-to-left override
  '\u2066', // left-to-right isolate
  '\u2069',
  '\uFEFF', // BOM: whitespace to trim()
  '\u0000',
  '\u0001',
  '\u001B',
  '\u007F',
  '\n',
  '\r\n',
  '\t',
  ' ',
  '\u00A0',
  '\u2028',
  '\u2029',
  '\u3000',
  '\u0301', // combining acute accent
  '\uFFFD',
  '\uFFFE',
  '\uFFFF',
  '\u{10FFFF}',
  EMOJI,
  FAMILY,
  '\u{1F1FA}\u{1F1F8}',
  '.',
  '*',
  '#',
  '$',
  '%00',
  '\\',
  '"',
  "'",
  '<script>',
  '../',
  '{"a":1}',
  'room',
  'general',
  'private-',
  '\u0430', // Cyrillic a
  '\uFF41', // fullwidth a
];

/** Strings a room name must never be, though each looks close to one. */
export const NEAR_ROOM_NAMES: readonly string[] = [
  '',
  ' ',
  'a.b',
  'a*',
  '#',
  'a b',
  ' general',
  'general ',
  'general\n',
  '\ngeneral',
  'gen\u0000eral',
  'gen\u200Beral',
  '\u0430bc',
  '\uFF41bc',
  'a/b',
  '..',
  'x'.repeat(65),
  'room.*',
  'room.#',
  'caf\u00E9',
  EMOJI,
];

/** Long strings: well-formed or not, just within the text limits or just over them. */
function longStrings(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      EMOJI.repeat(4000),
      EMOJI.repeat(4001),
      EMOJI.repeat(3999) + EMOJI.slice(0, 1),
      EMOJI.repeat(4000).slice(0, -1),
      ` ${EMOJI.repeat(4000)} `,
      'x'.repeat(4000),
      'x'.repeat(4001),
      ` ${'x'.repeat(4000)}\n`,
      '\u200B'.repeat(4000),
      '\u200B'.repeat(4001),
      ' '.repeat(5000),
      FAMILY.repeat(600),
      'c'.repeat(64),
      'c'.repeat(65),
      EMOJI.repeat(64),
      EMOJI.repeat(65),
    ),
    // A very long string: any length up to 100,000 units of one repeated piece.
    fc
      .tuple(
        fc.constantFrom('x', EMOJI, '\u0000', '\uD800', ' ', '\u202E'),
        fc.nat({ max: 100000 }),
      )
      .map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n)),
  );
}

/** Any UTF-16 code unit, lone surrogates included. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Strings built to hurt: surrogates, invisible and bidi characters, NUL, emoji, huge lengths. */
export function hostileString(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_FRAGMENTS) },
    {
      weight: 4,
      arbitrary: fc
        .array(
          fc.oneof(
            fc.constantFrom(...HOSTILE_FRAGMENTS),
            fc.string({ maxLength: 8 }),
            fc.string({ unit: 'binary', maxLength: 4 }),
          ),
          { minLength: 1, maxLength: 12 },
        )
        .map((parts) => parts.join('')),
    },
    { weight: 2, arbitrary: fc.string({ unit: anyCodeUnit, maxLength: 40 }) },
    { weight: 2, arbitrary: fc.constantFrom(...NEAR_ROOM_NAMES) },
    { weight: 2, arbitrary: longStrings() },
  );
}

/** Numbers at and past every edge the contract has (NaN, ±Infinity, -0, 2^53, 1e300...). */
export function specialNumber(): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constantFrom(
      NaN,
      Infinity,
      -Infinity,
      -0,
      0,
      1,
      -1,
      0.5,
      1.5,
      -0.5,
      50,
      99,
      100,
      101,
      499,
      500,
      501,
      4000,
      1e21,
      1e300,
      -1e300,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      Number.EPSILON,
      MAX_SAFE,
      MAX_SAFE + 1,
      MAX_SAFE + 2,
      2 ** 53 + 0.5,
      -MAX_SAFE,
      2 ** 31,
      2 ** 32,
      -(2 ** 31),
    ),
    fc.integer(),
    fc.double(),
    fc.maxSafeInteger(),
  );
}

/**
 * Nesting up to `maxDepth` levels (objects, arrays or both), built in a loop so that building it
 * never recurses: what is under test is whether the server recurses.
 */
export function deepValue(maxDepth = 3000): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      fc.oneof(fc.integer({ min: 2, max: 50 }), fc.integer({ min: 2, max: maxDepth })),
      fc.constantFrom('object', 'array', 'mixed'),
      fc.constantFrom<unknown>('x', 1, null, true, {}, []),
    )
    .map(([depth, kind, leaf]) => {
      let v: unknown = leaf;
      for (let i = 0; i < depth; i++) {
        const asArray = kind === 'array' || (kind === 'mixed' && i % 2 === 1);
        v = asArray ? [v] : { a: v };
      }
      return v;
    });
}

/** Keys an object should never be trusted with, and near misses of real field names. */
export function hostileKey(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'valueOf',
      'hasOwnProperty',
      'isPrototypeOf',
      '__defineGetter__',
      '__lookupGetter__',
      'then',
      'length',
      '0',
      '',
      ' ',
      'Room',
      'ROOM',
      'room ',
      'room\u0000',
      'roo\u200Bm',
      'since_seq',
      'sinceseq',
      'text\n',
      'clientID',
      'id',
      'user',
      'seq',
      'ts',
      'serverId',
      'cursor',
      'limit',
      'typing',
      'text',
      'room',
      'sinceSeq',
      'beforeSeq',
      'afterSeq',
    ),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: anyCodeUnit, maxLength: 12 }),
  );
}

/** `obj` with `key` as an own enumerable property, `__proto__` included (as JSON.parse does). */
export function withKey(
  obj: Record<string, unknown>,
  key: string,
  value: unknown,
): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    Object.defineProperty(copy, k, {
      value: obj[k],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Binary attachments (Socket.IO carries them), never valid anywhere in a payload. */
const binary = fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b));

/** Any value a field could hold: every JSON shape, hostile strings, edge numbers, deep nesting. */
export function anyValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    { weight: 3, arbitrary: hostileString() },
    { weight: 3, arbitrary: specialNumber() },
    {
      weight: 2,
      arbitrary: fc.constantFrom<unknown>(
        null,
        true,
        false,
        '',
        [],
        {},
        '1',
        '0',
        'true',
        [1],
        ['general'],
      ),
    },
    { weight: 1, arbitrary: deepValue() },
    { weight: 1, arbitrary: binary },
    {
      weight: 1,
      arbitrary: fc
        .tuple(hostileKey(), fc.jsonValue({ maxDepth: 1 }))
        .map(([k, v]) => withKey({}, k, v)),
    },
  );
}

/** Any payload at all: not an object, an array, a deep nest, a Buffer, undefined... */
export function anyTopLevel(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom<unknown>(undefined, null, NaN, Infinity, -0, '', [], {}, 'general', [
      { room: 'general' },
    ]),
    specialNumber(),
    hostileString(),
    deepValue(),
    binary,
  );
}

// ---------------------------------------------------------------------------------------------
// Valid payloads, generated from the contract
// ---------------------------------------------------------------------------------------------

const ROOM_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';

/** A name PROTOCOL.md allows: 1-64 of [A-Za-z0-9_-], `private-` ones included. */
export function validRoom(): fc.Arbitrary<string> {
  const char = fc.constantFrom(...ROOM_CHARS);
  return fc.oneof(
    fc.string({ unit: char, minLength: 1, maxLength: 8 }),
    fc.string({ unit: char, minLength: 1, maxLength: 64 }),
    fc.constantFrom('x'.repeat(64), '-', '_', '0', 'private-ops', 'general'),
  );
}

/** Whitespace that String.prototype.trim() removes. */
const TRIMMED = [
  ' ',
  '\t',
  '\n',
  '\r',
  '\u000B',
  '\u000C',
  '\u00A0',
  '\u1680',
  '\u2000',
  '\u200A',
  '\u2028',
  '\u2029',
  '\u202F',
  '\u205F',
  '\u3000',
  '\uFEFF',
];

/** One Unicode scalar value (never a surrogate), biased to the awkward ones. */
export function scalar(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCodePoint(c)),
    fc
      .integer({ min: 0, max: 0x10ffff - 0x800 })
      .map((c) => String.fromCodePoint(c < 0xd800 ? c : c + 0x800)),
    fc.constantFrom(
      EMOJI,
      '\u200B',
      '\u200E',
      '\u202E',
      '\u2066',
      '\u0000',
      '\u0301',
      '\uFEFF',
      '\u{10FFFF}',
      '\uFFFF',
      ' ',
    ),
  );
}

/** Exactly `n` code points of `unit` repeated (a unit is whole code points). */
function repeatToCodePoints(unit: string, n: number): string {
  const points = Array.from(unit);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(points[i % points.length]);
  return out.join('');
}

/** Message text the contract accepts: 1-4000 code points after trim(), well-formed. */
export function validText(): fc.Arbitrary<string> {
  const pad = fc.string({ unit: fc.constantFrom(...TRIMMED), maxLength: 3 });
  const nonBlank = scalar().filter((c) => c.trim() !== '');
  const short = fc
    .tuple(fc.array(scalar(), { maxLength: 40 }), nonBlank, fc.array(scalar(), { maxLength: 40 }))
    .map(([a, c, b]) => [...a, c, ...b].join(''));
  const long = fc
    .tuple(
      fc.array(nonBlank, { minLength: 1, maxLength: 3 }),
      fc.oneof(fc.constantFrom(1, 3999, 4000), fc.integer({ min: 1, max: 4000 })),
    )
    .map(([unit, n]) => repeatToCodePoints(unit.join(''), n));
  return fc
    .tuple(pad, fc.oneof({ weight: 4, arbitrary: short }, { weight: 1, arbitrary: long }), pad)
    .map(([a, core, b]) => a + core + b);
}

/** A clientId the contract accepts: 1-64 code points, well-formed (whitespace allowed). */
export function validClientId(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ minLength: 1, maxLength: 64 }),
    fc.array(scalar(), { minLength: 1, maxLength: 64 }).map((a) => a.join('')),
    fc.constantFrom('c'.repeat(64), EMOJI.repeat(64), ' ', '\u200B'),
  );
}

const seqValue = fc.oneof(fc.nat({ max: 200 }), fc.constantFrom(0, MAX_SAFE), fc.maxSafeNat());

export interface PayloadOptions {
  /** The room names to draw from (default: any valid name). */
  room?: fc.Arbitrary<string>;
  /** The clientIds to draw from (a small pool makes retries of one clientId happen). */
  clientId?: fc.Arbitrary<string>;
  text?: fc.Arbitrary<string>;
  /** The message ids to draw from (default: any UUID). */
  messageId?: fc.Arbitrary<string>;
}

/** A payload PROTOCOL.md allows for `event`, optional fields present or not. */
export function validPayload(
  event: FuzzEvent,
  options: PayloadOptions = {},
): fc.Arbitrary<Record<string, unknown>> {
  const r = options.room ?? validRoom();
  const plain = { noNullPrototype: true } as const;
  switch (event) {
    case 'room:join':
      return fc.record({ room: r, sinceSeq: seqValue }, { requiredKeys: ['room'], ...plain });
    case 'room:leave':
      return fc.record({ room: r }, plain);
    case 'room:members':
      return fc.record(
        { room: r, limit: fc.oneof(fc.integer({ min: 1, max: 500 }), fc.constantFrom(1, 500)) },
        { requiredKeys: ['room'], ...plain },
      );
    case 'message:send':
      return fc.record(
        {
          room: r,
          text: options.text ?? validText(),
          clientId: options.clientId ?? validClientId(),
        },
        { requiredKeys: ['room', 'text'], ...plain },
      );
    case 'room:history':
      return fc.record(
        {
          room: r,
          beforeSeq: seqValue,
          afterSeq: seqValue,
          limit: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constantFrom(1, 100)),
        },
        { requiredKeys: ['room'], ...plain },
      );
    case 'typing':
      return fc.record({ room: r, typing: fc.boolean() }, plain);
    case 'room:read':
      return fc.record({ room: r, seq: seqValue }, plain);
    case 'message:edit':
      return fc.record(
        {
          room: r,
          id: options.messageId ?? fc.uuid(),
          text: options.text ?? validText(),
          clientId: options.clientId ?? validClientId(),
        },
        { requiredKeys: ['room', 'id', 'text'], ...plain },
      );
    case 'message:delete':
      return fc.record(
        {
          room: r,
          id: options.messageId ?? fc.uuid(),
          clientId: options.clientId ?? validClientId(),
        },
        { requiredKeys: ['room', 'id'], ...plain },
      );
    case 'message:react':
      return fc.record(
        {
          room: r,
          id: options.messageId ?? fc.uuid(),
          emoji: fc.oneof(
            fc.constantFrom('👍', '❤️', EMOJI, 'x', EMOJI.repeat(32)),
            fc.array(scalar(), { minLength: 1, maxLength: 32 }).map((a) => a.join('')),
          ),
          on: fc.boolean(),
          clientId: options.clientId ?? validClientId(),
        },
        { requiredKeys: ['room', 'id', 'emoji', 'on'], ...plain },
      );
    case 'message:reactors':
      return fc.record(
        {
          room: r,
          id: options.messageId ?? fc.uuid(),
          emoji: fc.constantFrom('👍', '❤️', EMOJI, 'x'),
          limit: fc.oneof(fc.integer({ min: 1, max: 500 }), fc.constantFrom(1, 500)),
        },
        { requiredKeys: ['room', 'id', 'emoji'], ...plain },
      );
    case 'auth:refresh':
      return fc.record({ token: fc.string({ minLength: 1, maxLength: 200 }) }, plain);
  }
}

/**
 * A payload for `event` that is probably wrong: anything at the top level, the event's own keys
 * holding any value, a valid payload with one field replaced, dropped or joined by a hostile key.
 */
export function hostilePayload(
  event: FuzzEvent,
  options: PayloadOptions = {},
): fc.Arbitrary<unknown> {
  const keys = contractKeys(event);
  const valid = validPayload(event, options);
  const ownKeysAnyValue = fc.record(
    Object.fromEntries(keys.map((k) => [k, anyValue()])) as Record<string, fc.Arbitrary<unknown>>,
    { requiredKeys: [] },
  );
  return fc.oneof(
    { weight: 2, arbitrary: anyTopLevel() },
    { weight: 3, arbitrary: ownKeysAnyValue },
    {
      weight: 4,
      arbitrary: fc
        .tuple(valid, fc.constantFrom(...keys), anyValue())
        .map(([p, k, v]) => withKey(p, k, v)),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(valid, hostileKey(), anyValue()).map(([p, k, v]) => withKey(p, k, v)),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.constantFrom(...keys)).map(([p, k]) => {
        const copy = { ...p };
        delete copy[k];
        return copy;
      }),
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Running a property
// ---------------------------------------------------------------------------------------------

export interface FuzzOptions {
  /** Cases when FUZZ_RUNS is unset: keep `npm test` at a few seconds. */
  defaultRuns: number;
  /**
   * Stop generating (and shrinking) after this long. A run cut short before its cases fails
   * (fast-check's `failOnInterrupt`): a time limit bounds a run, it never shortens one.
   */
  timeLimitMs?: number;
}

/** The number of cases to run: FUZZ_RUNS when set, else the suite's default. */
export function fuzzRuns(defaultRuns: number): number {
  const raw = process.env.FUZZ_RUNS;
  if (raw === undefined || raw === '') return defaultRuns;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`FUZZ_RUNS must be a positive integer, not ${raw}`);
  return n;
}

/**
 * Runs `property` for FUZZ_RUNS (or the default) cases, every one of them: a run that stops
 * short (its time limit) fails. On success prints `[fuzz] <suite>: N cases, seed S`; on failure
 * throws fast-check's report (seed, path, shrunk counterexample) with the line that replays it.
 */
export async function runFuzz<Ts>(
  suite: string,
  property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
  options: FuzzOptions,
): Promise<void> {
  const numRuns = fuzzRuns(options.defaultRuns);
  const seedEnv = process.env.FUZZ_SEED;
  const seed = seedEnv ? Number(seedEnv) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const path = process.env.FUZZ_PATH || undefined;
  const started = Date.now();
  const elapsed = () => ((Date.now() - started) / 1000).toFixed(1);
  let details: fc.RunDetails<Ts>;
  try {
    details = (await fc.check(property as fc.IRawProperty<Ts>, {
      numRuns,
      seed,
      path,
      plugins: options.timeLimitMs
        ? [fc.interruptAfterTimeLimit(options.timeLimitMs, { failOnInterrupt: true })]
        : [],
    })) as fc.RunDetails<Ts>;
  } catch (err) {
    // failOnInterrupt: fast-check throws when the limit cut short a run that had not failed.
    if (!options.timeLimitMs || !/interrupted/.test((err as Error).message)) throw err;
    throw new Error(
      `[fuzz] ${suite}: FAILED: its ${options.timeLimitMs} ms limit cut the run short after ` +
        `${elapsed()} s, before ${numRuns} cases (seed ${seed})\n${(err as Error).message}`,
      { cause: err },
    );
  }
  const seconds = elapsed();
  // A pass is all `numRuns` cases run and passed, whatever the options (fast-check lets a run
  // interrupted between two cases pass even with failOnInterrupt).
  if (!details.failed && details.numRuns < numRuns) {
    throw new Error(
      `[fuzz] ${suite}: FAILED: only ${details.numRuns} of ${numRuns} cases ran in ${seconds} s ` +
        `(seed ${details.seed})`,
    );
  }
  if (details.failed) {
    const cut = details.interrupted
      ? ` (shrinking cut at its ${options.timeLimitMs} ms limit)`
      : '';
    throw new Error(
      `[fuzz] ${suite}: FAILED after ${details.numRuns} of ${numRuns} case(s) in ${seconds} s` +
        `${cut}\n${report(details)}\n` +
        `replay: FUZZ_SEED=${details.seed} FUZZ_PATH='${details.counterexamplePath}'`,
    );
  }
  process.stdout.write(
    `[fuzz] ${suite}: ${details.numRuns} of ${numRuns} cases, seed ${details.seed}, ${seconds} s\n`,
  );
}

/** fast-check's report, with huge counterexamples cut down to their ends so a log stays readable. */
function report<Ts>(details: fc.RunDetails<Ts>): string {
  const err = details.errorInstance as Error | undefined;
  let text: string;
  try {
    text = fc.defaultReportMessage(details) ?? 'property failed';
  } catch {
    // Printing a value nested thousands deep can overflow the stack: say what is known.
    text = `seed ${details.seed}, path ${details.counterexamplePath}\nGot error: ${err?.message}`;
  }
  if (err?.message && !text.includes(err.message)) text += `\nGot error: ${err.message}`;
  return text
    .split('\n')
    .map((line) =>
      line.length > 3000 ? `${line.slice(0, 1500)} \u2026 ${line.slice(-1000)}` : line,
    )
    .join('\n');
}

/**
 * A value's exact shape as a string (-0, NaN, undefined and Buffers included), built without
 * recursion so that nesting thousands deep can be compared before and after a call.
 */
export function fingerprint(value: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [value];
  const CLOSE = Symbol('close');
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === CLOSE) out.push(')');
    else if (typeof v === 'string') out.push(JSON.stringify(v));
    else if (typeof v === 'number') out.push(Object.is(v, -0) ? '-0' : String(v));
    else if (typeof v !== 'object' || v === null) out.push(String(v));
    else if (ArrayBuffer.isView(v))
      out.push(`bytes:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`);
    else {
      const proto = Object.getPrototypeOf(v) as unknown;
      out.push(Array.isArray(v) ? '[(' : proto === null ? 'null-proto(' : '{(');
      stack.push(CLOSE);
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push((v as Record<string, unknown>)[keys[i]]);
        stack.push(`${keys[i]}:`);
      }
    }
  }
  return out.join(' ');
}
