import { isPrivateRoom, isValidRoomName, PRIVATE_ROOM_PREFIX } from '@roomcast/contracts';
import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseDocument } from 'yaml';
import { ConfigError } from './load-config';

/**
 * Room rules (PROTOCOL.md, "Server API and webhooks" → Room rules): settings a deployment gives
 * the rooms whose names start with a prefix, read from the file named by ROOM_RULES. The file is
 * JSON, or YAML when its name ends in `.yaml` or `.yml`, and holds one object:
 *
 * ```json
 * { "rules": { "announce-": { "publish": "server", "presence": false, "typing": false },
 *              "support-": { "maxMembers": 2, "historyMax": 200, "requiresClaim": true } } }
 * ```
 *
 * The longest prefix a room's name starts with gives its rule; a field the rule leaves out, or a
 * room no rule matches, keeps the service's own setting ("as today"). A rule with no fields (`{}`)
 * is allowed: it shields its rooms from a shorter prefix's rule.
 */
export interface RoomRule {
  /** Messages kept in the room's history (50-100000, as HISTORY_MAX). */
  historyMax?: number;
  /** Messages older than this leave the history (ms, at least 60000, as HISTORY_MAX_AGE_MS). */
  historyMaxAgeMs?: number;
  /** Members lists and presence notices (`member:joined`, `member:left`) are shared. */
  presence?: boolean;
  /** `typing` notices are relayed. */
  typing?: boolean;
  /** Who may publish: `members`, or `server` (the server API only; socket sends are FORBIDDEN). */
  publish?: 'members' | 'server';
  /** The most members the room takes (1-1000000); a join past it is FORBIDDEN. */
  maxMembers?: number;
  /** Joining (and reading history or members) needs the JWT `rooms` claim, as `private-` rooms do. */
  requiresClaim?: boolean;
}

/** A room's settings with every field filled: its rule's, else the service's own. */
export interface RoomPolicy {
  historyMax: number;
  historyMaxAgeMs: number;
  presence: boolean;
  typing: boolean;
  publish: 'members' | 'server';
  /** null: no cap (a room with no rule, or a rule without maxMembers, takes any number). */
  maxMembers: number | null;
  requiresClaim: boolean;
}

/** A room's effective settings, and the prefix of the rule that gave them (null: none matched). */
export interface EffectiveRule extends RoomPolicy {
  prefix: string | null;
}

/** The rule that matched a room, and its prefix. */
export interface MatchedRule {
  prefix: string;
  rule: Readonly<RoomRule>;
}

/**
 * What a room with no rule (or a rule's absent field) gets: the service's history settings
 * (HISTORY_MAX, HISTORY_MAX_AGE_MS); the rest as today unless given.
 */
export type RoomDefaults = Pick<RoomPolicy, 'historyMax' | 'historyMaxAgeMs'> &
  Partial<Omit<RoomPolicy, 'historyMax' | 'historyMaxAgeMs'>>;

/** Today's behaviour of a room, for the fields with no service setting. */
const TODAY: Omit<RoomPolicy, 'historyMax' | 'historyMaxAgeMs'> = {
  presence: true,
  typing: true,
  publish: 'members',
  maxMembers: null,
  requiresClaim: false,
};

/** The longest a prefix (and a room name) may be: ROOM_NAME_PATTERN's 64. */
const MAX_PREFIX = 64;

export class RoomRules {
  private readonly rules: ReadonlyMap<string, Readonly<RoomRule>>;

  /** Rules already validated (parseRoomRules, loadRoomRules): keys are valid prefixes. */
  private constructor(rules: Map<string, RoomRule>) {
    this.rules = rules;
  }

  /** No rules: every room behaves as today. */
  static readonly none = new RoomRules(new Map());

  /** @internal for parseRoomRules. */
  static fromValidated(rules: Map<string, RoomRule>): RoomRules {
    return new RoomRules(rules);
  }

  /** How many rules there are. */
  get size(): number {
    return this.rules.size;
  }

  /** The prefixes and their rules, in the file's order. */
  entries(): MatchedRule[] {
    return [...this.rules].map(([prefix, rule]) => ({ prefix, rule }));
  }

  /**
   * The rule of the longest prefix `room` starts with (a prefix equal to the whole name counts),
   * or undefined. Prefixes are the file's keys, so two rules never tie.
   */
  ruleFor(room: string): MatchedRule | undefined {
    if (this.rules.size === 0) return undefined;
    // At most 64 map lookups, from the longest candidate down: no scan of the rules.
    for (let n = Math.min(room.length, MAX_PREFIX); n > 0; n--) {
      const prefix = room.slice(0, n);
      const rule = this.rules.get(prefix);
      if (rule !== undefined) return { prefix, rule };
    }
    return undefined;
  }

  /** Every setting of `room`: its rule's fields, else `defaults`, else today's behaviour. */
  effective(room: string, defaults: RoomDefaults): EffectiveRule {
    const matched = this.ruleFor(room);
    const rule = matched?.rule ?? {};
    return {
      prefix: matched?.prefix ?? null,
      historyMax: rule.historyMax ?? defaults.historyMax,
      historyMaxAgeMs: rule.historyMaxAgeMs ?? defaults.historyMaxAgeMs,
      presence: rule.presence ?? defaults.presence ?? TODAY.presence,
      typing: rule.typing ?? defaults.typing ?? TODAY.typing,
      publish: rule.publish ?? defaults.publish ?? TODAY.publish,
      maxMembers: rule.maxMembers ?? defaults.maxMembers ?? TODAY.maxMembers,
      // A private- room needs the claim whatever rule matched it (a shorter prefix such as
      // `priv` with requiresClaim: false must not open it).
      requiresClaim:
        isPrivateRoom(room) ||
        (rule.requiresClaim ?? defaults.requiresClaim ?? TODAY.requiresClaim),
    };
  }
}

/**
 * Every room's effective settings for one service: the rules of ROOM_RULES over the service's
 * own history settings. Services inject it (one per process, loaded at start) and ask it per room.
 */
export class RoomPolicies {
  constructor(
    readonly rules: RoomRules,
    readonly defaults: RoomDefaults,
  ) {}

  /** `room`'s settings, and the prefix of the rule that gave them. */
  of(room: string): EffectiveRule {
    return this.rules.effective(room, this.defaults);
  }

  /** No rules: every room as today, with the history settings given (tests). */
  static none(defaults: RoomDefaults = HISTORY_DEFAULTS): RoomPolicies {
    return new RoomPolicies(RoomRules.none, defaults);
  }
}

/** WriterEnv's own defaults (HISTORY_MAX, HISTORY_MAX_AGE_MS), for a service without them. */
const HISTORY_DEFAULTS: RoomDefaults = { historyMax: 1000, historyMaxAgeMs: 24 * 3600 * 1000 };

/**
 * A service's room policies from its settings: ROOM_RULES loaded (a ConfigError naming the file,
 * the rule and the field when it is wrong: the service does not start), over HISTORY_MAX and
 * HISTORY_MAX_AGE_MS where the service has them.
 */
export function roomPolicies(env: {
  ROOM_RULES?: string;
  HISTORY_MAX?: number;
  HISTORY_MAX_AGE_MS?: number;
}): RoomPolicies {
  return new RoomPolicies(loadRoomRules(env.ROOM_RULES), {
    historyMax: env.HISTORY_MAX ?? HISTORY_DEFAULTS.historyMax,
    historyMaxAgeMs: env.HISTORY_MAX_AGE_MS ?? HISTORY_DEFAULTS.historyMaxAgeMs,
  });
}

/**
 * The rules of the file named by ROOM_RULES; no path (the setting unset): no rules. Throws a
 * ConfigError with one line per mistake, each naming the file, the rule and the field; a file
 * that cannot be read or parsed is one line with the reason.
 */
export function loadRoomRules(path: string | undefined): RoomRules {
  if (path === undefined || path === '') return RoomRules.none;
  const where = `ROOM_RULES ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${where}: cannot read the file (${(err as Error).message})`]);
  }
  return parseRoomRules(parseText(text, /\.ya?ml$/i.test(path), where), where);
}

/** The file's content as a value, or a ConfigError with the parser's message. */
function parseText(text: string, yaml: boolean, where: string): unknown {
  if (yaml) {
    try {
      // uniqueKeys (the default): a prefix given twice is an error, not the last one winning.
      return parseYaml(text, { uniqueKeys: true });
    } catch (err) {
      throw new ConfigError([`${where}: not valid YAML (${firstLine(err)})`]);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`${where}: not valid JSON (${firstLine(err)})`]);
  }
  // JSON.parse keeps the last of two equal keys silently; JSON is YAML, and the YAML parser says
  // which key came twice (any other complaint of it about valid JSON is ignored).
  const duplicates = parseDocument(text, { uniqueKeys: true }).errors.filter(
    (e) => e.code === 'DUPLICATE_KEY',
  );
  if (duplicates.length > 0) {
    throw new ConfigError(duplicates.map((e) => `${where}: ${firstLine(e)}`));
  }
  return value;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

/** Checks one field's value: a problem in words ("must be ..."), or undefined when valid. */
type FieldCheck = (value: unknown) => string | undefined;

const integer =
  (min: number, max: number, words: string): FieldCheck =>
  (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? undefined : words;
const flag: FieldCheck = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');

/** The fields a rule takes and their checks; the bounds are those of the service settings. */
const FIELDS: Record<keyof RoomRule, FieldCheck> = {
  historyMax: integer(50, 100000, 'must be an integer from 50 to 100000 (as HISTORY_MAX)'),
  historyMaxAgeMs: integer(
    60000,
    Number.MAX_SAFE_INTEGER,
    'must be an integer of at least 60000 (ms, as HISTORY_MAX_AGE_MS)',
  ),
  presence: flag,
  typing: flag,
  publish: (v) => (v === 'members' || v === 'server' ? undefined : 'must be "members" or "server"'),
  maxMembers: integer(1, 1_000_000, 'must be an integer from 1 to 1000000'),
  requiresClaim: flag,
};
const FIELD_NAMES = Object.keys(FIELDS);

/**
 * Validates the parsed content of a rules file (`where` starts each line, e.g. `ROOM_RULES
 * /etc/roomcast/rules.yaml`): every mistake is a line of the ConfigError, not only the first.
 */
export function parseRoomRules(content: unknown, where: string): RoomRules {
  const problems: string[] = [];
  const say = (line: string) => problems.push(`${where}: ${line}`);
  if (!isPlainObject(content) || !isPlainObject(content.rules)) {
    say('the file must hold one object, { "rules": { "<room name prefix>": { <fields> } } }');
    throw new ConfigError(problems);
  }
  for (const key of Object.keys(content)) {
    if (key !== 'rules') say(`unknown field ${JSON.stringify(key)} (the file holds only "rules")`);
  }
  const rules = new Map<string, RoomRule>();
  for (const [prefix, rule] of Object.entries(content.rules)) {
    const name = `rule ${JSON.stringify(prefix)}`;
    if (!isValidRoomName(prefix)) {
      say(`${name}: the prefix must be 1-64 of the characters A-Z a-z 0-9 _ - (as room names)`);
    }
    if (!isPlainObject(rule)) {
      say(`${name}: must be an object of fields (${FIELD_NAMES.join(', ')})`);
      continue;
    }
    for (const [field, value] of Object.entries(rule)) {
      const check = Object.hasOwn(FIELDS, field) ? FIELDS[field as keyof RoomRule] : undefined;
      if (check === undefined) {
        say(`${name}: unknown field ${JSON.stringify(field)} (known: ${FIELD_NAMES.join(', ')})`);
        continue;
      }
      const problem = check(value);
      if (problem !== undefined) say(`${name}: ${field} ${problem} (not ${shown(value)})`);
    }
    if (prefix.startsWith(PRIVATE_ROOM_PREFIX) && rule.requiresClaim === false) {
      say(`${name}: requiresClaim cannot be false: ${PRIVATE_ROOM_PREFIX} rooms always need it`);
    }
    rules.set(prefix, Object.freeze({ ...rule }) as RoomRule);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return RoomRules.fromValidated(rules);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as the file wrote it, cut short. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
