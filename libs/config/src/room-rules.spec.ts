import { runFuzz } from '@roomcast/testing';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError } from './load-config';
import { loadRoomRules, parseRoomRules, type RoomRule, RoomRules } from './room-rules';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'room-rules-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to a file of that name in the test's folder; its path. */
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** The lines of the ConfigError `run` throws (fails when it throws nothing else). */
function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('no ConfigError');
}

const rules = (r: Record<string, RoomRule>) => parseRoomRules({ rules: r }, 'test');

describe('RoomRules.ruleFor: the longest matching prefix', () => {
  const set = rules({
    a: { historyMax: 100 },
    'announce-': { publish: 'server' },
    'announce-eu-': { typing: false },
    'support-1': { maxMembers: 2 },
  });

  it('gives the longest prefix the name starts with', () => {
    expect(set.ruleFor('announce-eu-news')).toEqual({
      prefix: 'announce-eu-',
      rule: { typing: false },
    });
    expect(set.ruleFor('announce-us')?.prefix).toBe('announce-');
    expect(set.ruleFor('abc')?.prefix).toBe('a');
  });

  it('gives nothing to a room no prefix matches', () => {
    expect(set.ruleFor('lobby')).toBeUndefined();
    expect(set.ruleFor('A')).toBeUndefined(); // prefixes are case-sensitive, as room names
    expect(rules({}).ruleFor('announce-x')).toBeUndefined();
    expect(RoomRules.none.ruleFor('announce-x')).toBeUndefined();
  });

  it('counts a prefix equal to the whole name', () => {
    expect(set.ruleFor('support-1')?.prefix).toBe('support-1');
    expect(set.ruleFor('announce-eu-')?.prefix).toBe('announce-eu-');
  });

  it('skips a prefix longer than the room', () => {
    expect(set.ruleFor('support-')).toBeUndefined();
    expect(set.ruleFor('announce-eu')?.prefix).toBe('announce-');
  });

  it('matches a 64-character prefix on a 64-character name', () => {
    const long = 'x'.repeat(64);
    expect(rules({ [long]: { typing: false } }).ruleFor(long)?.prefix).toBe(long);
  });

  // The rule sets and names come from a 3-letter alphabet, so most names match several prefixes.
  it('agrees with a brute-force longest prefix over random rule sets and names', async () => {
    const name = (max: number) =>
      fc.string({ unit: fc.constantFrom('a', 'b', '-'), minLength: 1, maxLength: max });
    await runFuzz(
      'RoomRules.ruleFor: longest matching prefix',
      fc.property(
        fc.uniqueArray(name(6), { maxLength: 12 }),
        fc.array(name(8), { minLength: 1, maxLength: 20 }),
        (prefixes, rooms) => {
          const set = rules(
            Object.fromEntries(prefixes.map((p, i) => [p, { historyMax: 50 + i }])),
          );
          for (const room of rooms) {
            const longest = prefixes
              .filter((p) => room.startsWith(p))
              .sort((x, y) => y.length - x.length)[0];
            const got = set.ruleFor(room);
            expect(got?.prefix).toBe(longest);
            if (longest !== undefined) {
              expect(got?.rule.historyMax).toBe(50 + prefixes.indexOf(longest));
            }
          }
        },
      ),
      { defaultRuns: 500, timeLimitMs: 20_000 },
    );
  });
});

describe('RoomRules.effective', () => {
  const defaults = { historyMax: 1000, historyMaxAgeMs: 86_400_000 };
  const set = rules({
    'announce-': { publish: 'server', presence: false, historyMax: 200 },
    'announce-open-': {},
    priv: { requiresClaim: false, maxMembers: 10 },
    'team-': { requiresClaim: true },
  });

  it("fills a rule's absent fields from the service's settings and today's behaviour", () => {
    expect(set.effective('announce-news', defaults)).toEqual({
      prefix: 'announce-',
      historyMax: 200,
      historyMaxAgeMs: 86_400_000,
      presence: false,
      typing: true,
      publish: 'server',
      maxMembers: null,
      requiresClaim: false,
    });
  });

  it('gives a room no rule matches the defaults, with no prefix', () => {
    expect(set.effective('lobby', { ...defaults, maxMembers: 5 })).toEqual({
      prefix: null,
      ...defaults,
      presence: true,
      typing: true,
      publish: 'members',
      maxMembers: 5,
      requiresClaim: false,
    });
  });

  it('lets an empty rule shield its rooms from a shorter prefix', () => {
    const e = set.effective('announce-open-chat', defaults);
    expect(e.prefix).toBe('announce-open-');
    expect(e.publish).toBe('members');
    expect(e.historyMax).toBe(1000);
  });

  it('keeps the claim on private- rooms whatever rule matches them', () => {
    expect(set.effective('private-x', defaults)).toMatchObject({
      prefix: 'priv',
      requiresClaim: true,
      maxMembers: 10,
    });
    expect(set.effective('privy', defaults).requiresClaim).toBe(false);
    expect(set.effective('team-a', defaults).requiresClaim).toBe(true);
  });
});

describe('loadRoomRules', () => {
  it('gives no rules when ROOM_RULES is unset', () => {
    expect(loadRoomRules(undefined).size).toBe(0);
    expect(loadRoomRules('').size).toBe(0);
  });

  it('reads JSON', () => {
    const p = file(
      'rules.json',
      JSON.stringify({ rules: { 'announce-': { publish: 'server', typing: false } } }),
    );
    expect(loadRoomRules(p).ruleFor('announce-1')).toEqual({
      prefix: 'announce-',
      rule: { publish: 'server', typing: false },
    });
  });

  it.each(['rules.yaml', 'rules.yml', 'RULES.YAML'])('reads YAML from %s', (name) => {
    const p = file(name, 'rules:\n  announce-:\n    publish: server\n    maxMembers: 100000\n');
    expect(loadRoomRules(p).ruleFor('announce-1')?.rule).toEqual({
      publish: 'server',
      maxMembers: 100000,
    });
  });

  it('reads the example of docs/operations.md', () => {
    const docs = readFileSync(path.resolve(__dirname, '../../../docs/operations.md'), 'utf8');
    const example = /^### Room rules\n[\s\S]*?```yaml\n([\s\S]*?)```/m.exec(docs)?.[1];
    expect(example).toBeDefined();
    const set = loadRoomRules(file('docs.yaml', example!));
    expect(set.size).toBe(3);
    expect(set.ruleFor('announce-news')?.rule.publish).toBe('server');
  });

  it('names the file and the reason when it cannot be read', () => {
    const p = path.join(dir, 'missing.json');
    expect(problems(() => loadRoomRules(p))).toEqual([
      expect.stringMatching(
        new RegExp(`^ROOM_RULES ${escape(p)}: cannot read the file \\(ENOENT: no such file`),
      ),
    ]);
  });

  it("gives JSON's error, on one line, for a file that is not JSON", () => {
    const p = file('broken.json', '{ "rules": { "a-": { "typing": false, } } }');
    const lines = problems(() => loadRoomRules(p));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^ROOM_RULES ${escape(p)}: not valid JSON \\(.+\\)$`));
  });

  it("gives YAML's error, on one line, for a file that is not YAML", () => {
    const p = file('broken.yaml', 'rules:\n  a-: { typing: false\n  b-: {}\n');
    const lines = problems(() => loadRoomRules(p));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^ROOM_RULES ${escape(p)}: not valid YAML \\(.+\\)$`));
    expect(lines[0]).not.toContain('\n');
  });

  it('refuses a prefix given twice, in YAML and in JSON', () => {
    const y = file('twice.yaml', 'rules:\n  a-: { typing: false }\n  a-: { typing: true }\n');
    expect(problems(() => loadRoomRules(y))[0]).toMatch(/not valid YAML \(Map keys must be unique/);
    const j = file('twice.json', '{ "rules": { "a-": { "typing": false }, "a-": {} } }');
    expect(problems(() => loadRoomRules(j))).toEqual([
      expect.stringMatching(new RegExp(`^ROOM_RULES ${escape(j)}: Map keys must be unique`)),
    ]);
  });

  it('names the file, the rule and the field of each mistake, every one of them', () => {
    const p = file(
      'mistakes.yaml',
      [
        'rules:',
        '  announce-:',
        '    publish: everyone',
        '    typing: "no"',
        '  big-:',
        '    maxMembers: 0',
        '    historyMax: 49',
        '    historyMaxAgeMs: 1000',
        '  ok-:',
        '    presence: false',
        '  a.b:',
        '    typing: false',
        '  small-:',
        '    historyMax: 100.5',
        '    histroyMax: 100',
        '  private-team-:',
        '    requiresClaim: false',
        '  empty-:',
        '  list-: [1, 2]',
        'version: 2',
      ].join('\n'),
    );
    const at = `ROOM_RULES ${p}`;
    expect(problems(() => loadRoomRules(p))).toEqual([
      `${at}: unknown field "version" (the file holds only "rules")`,
      `${at}: rule "announce-": publish must be "members" or "server" (not "everyone")`,
      `${at}: rule "announce-": typing must be true or false (not "no")`,
      `${at}: rule "big-": maxMembers must be an integer from 1 to 1000000 (not 0)`,
      `${at}: rule "big-": historyMax must be an integer from 50 to 100000 (as HISTORY_MAX) (not 49)`,
      `${at}: rule "big-": historyMaxAgeMs must be an integer of at least 60000 (ms, as HISTORY_MAX_AGE_MS) (not 1000)`,
      `${at}: rule "a.b": the prefix must be 1-64 of the characters A-Z a-z 0-9 _ - (as room names)`,
      `${at}: rule "small-": historyMax must be an integer from 50 to 100000 (as HISTORY_MAX) (not 100.5)`,
      `${at}: rule "small-": unknown field "histroyMax" (known: historyMax, historyMaxAgeMs, presence, typing, publish, maxMembers, requiresClaim)`,
      `${at}: rule "private-team-": requiresClaim cannot be false: private- rooms always need it`,
      `${at}: rule "empty-": must be an object of fields (historyMax, historyMaxAgeMs, presence, typing, publish, maxMembers, requiresClaim)`,
      `${at}: rule "list-": must be an object of fields (historyMax, historyMaxAgeMs, presence, typing, publish, maxMembers, requiresClaim)`,
    ]);
  });

  it('refuses wrong types in JSON as in YAML', () => {
    const p = file(
      'types.json',
      JSON.stringify({
        rules: {
          'a-': { historyMax: '100', presence: 1, maxMembers: null, publish: ['server'] },
          '': { typing: false },
          ['x'.repeat(65)]: {},
          'toString-': { toString: true, __proto__x: 1 },
        },
      }),
    );
    const at = `ROOM_RULES ${p}: rule`;
    expect(problems(() => loadRoomRules(p))).toEqual([
      `${at} "a-": historyMax must be an integer from 50 to 100000 (as HISTORY_MAX) (not "100")`,
      `${at} "a-": presence must be true or false (not 1)`,
      `${at} "a-": maxMembers must be an integer from 1 to 1000000 (not null)`,
      `${at} "a-": publish must be "members" or "server" (not ["server"])`,
      `${at} "": the prefix must be 1-64 of the characters A-Z a-z 0-9 _ - (as room names)`,
      `${at} "${'x'.repeat(65)}": the prefix must be 1-64 of the characters A-Z a-z 0-9 _ - (as room names)`,
      expect.stringMatching(/^ROOM_RULES .*: rule "toString-": unknown field "toString" \(known: /),
      expect.stringMatching(
        /^ROOM_RULES .*: rule "toString-": unknown field "__proto__x" \(known: /,
      ),
    ]);
  });

  it.each([
    ['an empty YAML file', 'empty.yaml', ''],
    ['a list', 'list.json', '[]'],
    ['no rules', 'norules.json', '{ "rule": {} }'],
    ['rules as a list', 'rulelist.yaml', 'rules:\n  - announce-\n'],
  ])('says what the file must hold for %s', (_, name, text) => {
    const p = file(name, text);
    expect(problems(() => loadRoomRules(p))).toEqual([
      `ROOM_RULES ${p}: the file must hold one object, { "rules": { "<room name prefix>": { <fields> } } }`,
    ]);
  });

  it('takes an empty rules object: no rules', () => {
    expect(loadRoomRules(file('none.json', '{ "rules": {} }')).size).toBe(0);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
