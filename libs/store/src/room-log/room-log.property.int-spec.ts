import fc from 'fast-check';
import Redis from 'ioredis';
import type { User } from '@roomcast/contracts';
import { REDIS_URL, requireServices, runFuzz, runPrefix } from '@roomcast/testing';
import { REACTION_SAMPLE, RoomHistory, type UpdateOutcome } from './room-history';

/**
 * The room log's edits, deletions and reactions against a model, for generated orders of changes
 * with hostile sizes and contents: 4,000-character texts full of quotes, backslashes and the
 * stored JSON's own markers, emoji named like Object.prototype's members, more distinct emoji
 * than a message may carry, clientIds reused across changes. After each case every message reads
 * as the model says: its text, its reactions' counts and samples, every reactor page, each
 * user's own reactions, and one stored edit text at most. FUZZ_RUNS sets the case count.
 */

const ann: User = { id: 'ann', name: 'Ann' };
const users: User[] = Array.from({ length: 14 }, (_, i) => ({ id: `u${i}\\"}`, name: `U${i}` }));
const EMOJI = [
  '👍',
  '__proto__',
  'constructor',
  '😀'.repeat(32),
  'x:1:',
  ...'abcdefghijklmnopqrstuv',
];
const hostileText = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).map((s) => `t${s}`),
  fc.constantFrom(
    '","user":{"id":"mallory"}',
    '\\"text\\":\\"',
    ',"kind":"edit","text":"x"}',
    '😀'.repeat(4000),
    'a\\'.repeat(2000),
  ),
);

type Op =
  | { kind: 'react'; msg: number; user: number; emoji: string; on: boolean; clientId?: string }
  | { kind: 'edit'; msg: number; text: string; clientId?: string }
  | { kind: 'delete'; msg: number; clientId?: string };

const clientId = fc.option(fc.constantFrom('k1', 'k2'), { nil: undefined });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record(
      {
        kind: fc.constant('react' as const),
        msg: fc.nat(2),
        // Mostly a few users and emoji, so the same reaction is taken back and given again;
        // sometimes any, past the sample's size and the 20 distinct emoji.
        user: fc.oneof({ weight: 3, arbitrary: fc.nat(3) }, fc.nat(users.length - 1)),
        emoji: fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...EMOJI.slice(0, 3)) },
          fc.constantFrom(...EMOJI),
        ),
        on: fc.boolean(),
        clientId,
      },
      { requiredKeys: ['kind', 'msg', 'user', 'emoji', 'on'] },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      { kind: fc.constant('edit' as const), msg: fc.nat(2), text: hostileText, clientId },
      { requiredKeys: ['kind', 'msg', 'text'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { kind: fc.constant('delete' as const), msg: fc.nat(2), clientId },
      { requiredKeys: ['kind', 'msg'] },
    ),
  },
);

interface ModelMessage {
  id: string;
  text: string;
  deleted: boolean;
  /** emoji -> reactors, in the order they reacted. */
  reactions: Map<string, string[]>;
}

describe('the room log under generated changes (model-based, fast-check)', () => {
  let redis: Redis;
  let prefix: string;
  let log: RoomHistory;
  let room = 0;

  beforeAll(async () => {
    await requireServices('redis');
    redis = new Redis(REDIS_URL);
    prefix = `${runPrefix('roomlog')}:`;
    log = new RoomHistory(redis, prefix, { maxMessages: 100, maxAgeMs: 600_000 });
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('keeps texts, counts, samples, reactor pages and own reactions as the model says', async () => {
    await runFuzz(
      'room log changes',
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }),
        async (ops) => {
          const r = `log${++room}`;
          const model: ModelMessage[] = [];
          for (let i = 0; i < 3; i++) {
            const { ack } = await log.appendMessage({
              id: `m${room}-${i}`,
              room: r,
              text: `m${i}`,
              user: ann,
              ts: Date.now(),
              serverId: 'g',
            });
            model.push({ id: ack.id, text: `m${i}`, deleted: false, reactions: new Map() });
          }
          /** clientId (per user) -> the change it first named and its outcome. */
          const used = new Map<string, { change: string; seq?: number }>();
          for (const op of ops) {
            const m = model[op.msg];
            const user = op.kind === 'react' ? users[op.user] : ann;
            const change = JSON.stringify({ ...op, clientId: undefined });
            const outcome: UpdateOutcome = await log.appendUpdate({
              room: r,
              id: m.id,
              user,
              ts: Date.now(),
              kind: op.kind,
              ...(op.kind === 'edit' ? { text: op.text } : {}),
              ...(op.kind === 'react' ? { emoji: op.emoji, on: op.on } : {}),
              ...(op.clientId ? { clientId: op.clientId } : {}),
            });
            const key = op.clientId && `${user.id}|${op.clientId}`;
            const first = key ? used.get(key) : undefined;
            if (first) {
              if (first.change !== change)
                expect(outcome).toEqual({ status: 'client-id-conflict' });
              else expect(outcome.status).toBe('duplicate');
              continue;
            }
            if (m.deleted) {
              expect(outcome.status).toBe('not-found');
              continue;
            }
            if (op.kind === 'react') {
              const who = m.reactions.get(op.emoji) ?? [];
              if (op.on && who.length === 0 && m.reactions.size >= 20) {
                expect(outcome.status).toBe('too-many-reactions');
                continue;
              }
              const next = op.on
                ? who.includes(user.id)
                  ? who
                  : [...who, user.id]
                : who.filter((u) => u !== user.id);
              if (next.length > 0) m.reactions.set(op.emoji, next);
              else m.reactions.delete(op.emoji);
              expect(outcome).toMatchObject({ status: 'ok', update: { count: next.length } });
            } else if (op.kind === 'edit') {
              m.text = op.text;
              expect(outcome.status).toBe('ok');
            } else {
              m.deleted = true;
              m.text = '';
              m.reactions.clear();
              expect(outcome.status).toBe('ok');
            }
            if (key && outcome.status === 'ok') used.set(key, { change, seq: outcome.update.seq });
          }
          const shown = await log.recentMessages(r, 10);
          for (const m of model) {
            const s = shown.find((x) => x.id === m.id)!;
            expect({ text: s.text, deleted: s.deleted ?? false }).toEqual({
              text: m.text,
              deleted: m.deleted,
            });
            expect(Object.keys(s.reactions ?? {}).sort()).toEqual([...m.reactions.keys()].sort());
            for (const [emoji, who] of m.reactions) {
              const got = s.reactions![emoji];
              expect(got.count).toBe(who.length);
              expect(got.users).toHaveLength(Math.min(who.length, REACTION_SAMPLE));
              expect(who).toEqual(expect.arrayContaining(got.users));
              const paged: string[] = [];
              let after: string | undefined;
              for (let pages = 0; pages < 20; pages++) {
                const page = (await log.reactors(r, m.id, emoji, { after, limit: 3 }))!;
                paged.push(...page.users);
                after = page.after;
                if (after === undefined) break;
              }
              expect(paged.sort()).toEqual([...who].sort());
            }
            for (const u of users) {
              const mine = (await log.mine(r, u.id, [s]))[m.id] ?? [];
              const expected = [...m.reactions].filter(([, w]) => w.includes(u.id)).map(([e]) => e);
              expect(mine.sort()).toEqual(expected.sort());
            }
          }
          // At most one stored edit text per message, none for a deleted one.
          const updates = (await redis.zrange(log.keys.roomUpdates(r), '0', '-1')).map(
            (u) => JSON.parse(u) as { id: string; kind: string; text?: string },
          );
          for (const m of model) {
            const texts = updates.filter((u) => u.id === m.id && u.kind === 'edit' && u.text);
            expect(texts.length).toBeLessThanOrEqual(m.deleted ? 0 : 1);
            if (texts.length === 1) expect(texts[0].text).toBe(m.text);
          }
        },
      ),
      { defaultRuns: 100 },
    );
  }, 120000);
});
