import type {
  HistoryResult,
  JoinResult,
  ReactorsResult,
  SendResult,
  UpdateResult,
} from '@roomcast/contracts';
import {
  connectClient,
  LIFTED_LIMITS,
  requireServices,
  startCluster,
  waitFor,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

/** The join ack's bound (PROTOCOL.md: about 1 MiB with its history), and some slack for framing. */
const ACK_BOUND = 1024 * 1024 + 64 * 1024;
/** A text near the contract's largest: 3,900 code points of 4 UTF-8 bytes each (15.6 KB). */
const big = (tag: string) => `${tag} ${'😀'.repeat(3900)}`;
const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * The room log's hostile sizes, tried from outside on two gateways (issue 27's 2, 3 and 10): a
 * rejoin after many large edits, a message with a crowd of reactors, and a clientId reused for
 * another change.
 */
describe('room log under hostile sizes (2 gateways)', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  let n = 0;
  const room = (label: string) => `hl-${label}-${++n}-${Math.random().toString(36).slice(2, 6)}`;

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'hlog',
      gateways: 2,
      gatewayEnv: LIFTED_LIMITS,
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  }, 30000);

  const connect = async (gateway: number, name: string) => {
    const c = await connectClient(cluster.gateways[gateway].url, name, { timeoutMs: 15000 });
    clients.push(c);
    return c;
  };
  const ok = <T>(c: TestClient, event: string, payload: unknown) => c.ok<T>(event, payload, 15000);
  const code = (c: TestClient, event: string, payload: unknown) => c.code(event, payload);
  const join = (c: TestClient, r: string, sinceSeq?: number) =>
    ok<JoinResult>(c, 'room:join', sinceSeq === undefined ? { room: r } : { room: r, sinceSeq });
  const send = (c: TestClient, r: string, text: string) =>
    ok<SendResult>(c, 'message:send', { room: r, text });

  it('bounds a rejoin ack in bytes: large edits leave the updates out (complete: false), large messages page on', async () => {
    const r = room('bytes');
    const ann = await connect(0, 'Ann');
    await join(ann, r);
    const sent: SendResult[] = [];
    for (let i = 0; i < 90; i++) sent.push(await send(ann, r, `m${i}`));
    const since = sent[sent.length - 1].seq;
    // 90 edits of 15.6 KB each: 1.4 MB of updates to messages the client already shows.
    for (let i = 0; i < sent.length; i += 15)
      await Promise.all(
        sent
          .slice(i, i + 15)
          .map((m, k) => ok(ann, 'message:edit', { room: r, id: m.id, text: big(`e${i + k}`) })),
      );
    const bob = await connect(1, 'Bob');
    const rejoin = await join(bob, r, since);
    expect(bytesOf(rejoin)).toBeLessThan(ACK_BOUND);
    expect(rejoin.updates).toEqual([]);
    expect(rejoin.complete).toBe(false);
    // What it shows, reloaded with room:history, is in its current state.
    const page = await ok<HistoryResult>(bob, 'room:history', {
      room: r,
      afterSeq: sent[59].seq,
      limit: 10,
    });
    expect(page.messages[0].text).toBe(big('e60'));
    // 90 large messages after sinceSeq: the history is cut in bytes and says more follow.
    const mark = (await send(ann, r, 'mark')).seq;
    for (let i = 0; i < 90; i += 15)
      await Promise.all(Array.from({ length: 15 }, (_, k) => send(ann, r, big(`big${i + k}`))));
    const later = await join(bob, r, mark);
    expect(bytesOf(later)).toBeLessThan(ACK_BOUND);
    expect(later.more).toBe(true);
    expect(later.history.length).toBeGreaterThan(0);
    expect(later.history.length).toBeLessThan(90);
    expect(later.history[0].text).toBe(big('big0'));
    // And a small rejoin still carries its updates whole.
    const small = (await send(ann, r, 'small')).seq;
    const edit = await ok<UpdateResult>(ann, 'message:edit', {
      room: r,
      id: sent[0].id,
      text: 'short again',
    });
    const third = await join(bob, r, small);
    expect(third.updates.map((u) => u.seq)).toEqual([edit.seq]);
    expect(third.complete).toBe(true);
  }, 120000);

  it('counts reactions with a sample of users, pages every reactor, and tells each caller its own', async () => {
    const r = room('crowd');
    const ann = await connect(0, 'Ann');
    await join(ann, r);
    const m = await send(ann, r, 'react to me');
    const fans: TestClient[] = [];
    for (let i = 0; i < 25; i++) {
      const fan = await connect(i % 2, `Fan ${i}`);
      await join(fan, r);
      fans.push(fan);
    }
    const acks: UpdateResult[] = [];
    for (const fan of fans)
      acks.push(await ok(fan, 'message:react', { room: r, id: m.id, emoji: '🎉', on: true }));
    // Every member saw each change with the emoji's new count.
    await waitFor(() => ann.updates.filter((u) => u.kind === 'react').length === 25);
    expect(ann.updates.map((u) => u.count)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const shown = (await join(ann, r)).history.find((x) => x.id === m.id)!;
    const reaction = shown.reactions!['🎉'];
    expect(reaction.count).toBe(25);
    expect(reaction.users).toHaveLength(10);
    // Every reactor once, page by page.
    const users: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await ok<ReactorsResult>(ann, 'message:reactors', {
        room: r,
        id: m.id,
        emoji: '🎉',
        limit: 7,
        ...(cursor ? { cursor } : {}),
      });
      users.push(...page.users);
      cursor = page.next;
      if (!cursor) break;
    }
    expect(users).toHaveLength(25);
    expect(new Set(users).size).toBe(25);
    // The first fan reacted first, so the sample (the 10 most recent) does not name it; the
    // join ack and the history still tell it its own reaction.
    const first = fans[0];
    expect((await join(first, r)).mine).toEqual({ [m.id]: ['🎉'] });
    const history = await ok<HistoryResult>(first, 'room:history', { room: r });
    expect(history.mine).toEqual({ [m.id]: ['🎉'] });
    expect((await ok<HistoryResult>(ann, 'room:history', { room: r })).mine).toEqual({});
    // Reactors of a message that is not there, and a bad page, answer codes.
    expect(
      await code(ann, 'message:reactors', {
        room: r,
        id: '00000000-0000-4000-8000-000000000000',
        emoji: '🎉',
      }),
    ).toBe('NOT_FOUND');
    for (const payload of [
      { room: r, id: m.id, emoji: '' },
      { room: r, id: m.id, emoji: '🎉', limit: 501 },
      { room: r, id: m.id, emoji: '🎉', cursor: 'a b' },
      { room: 'a.b', id: m.id, emoji: '🎉' },
    ])
      expect(await code(ann, 'message:reactors', payload)).toBe('INVALID_PAYLOAD');
  }, 90000);

  it('refuses a clientId reused for another change with INVALID_PAYLOAD, and changes nothing', async () => {
    const r = room('cid');
    const ann = await connect(0, 'Ann');
    await join(ann, r);
    const m1 = await send(ann, r, 'one');
    const m2 = await send(ann, r, 'two');
    const first = await ok<UpdateResult>(ann, 'message:edit', {
      room: r,
      id: m1.id,
      text: 'one!',
      clientId: 'X',
    });
    // The same change again is a retry: the first ack.
    expect(
      await ok<UpdateResult>(ann, 'message:edit', {
        room: r,
        id: m1.id,
        text: 'one!',
        clientId: 'X',
      }),
    ).toMatchObject({ seq: first.seq });
    for (const [event, payload] of [
      ['message:edit', { room: r, id: m1.id, text: 'other', clientId: 'X' }],
      ['message:edit', { room: r, id: m2.id, text: 'one!', clientId: 'X' }],
      ['message:react', { room: r, id: m2.id, emoji: '👍', on: true, clientId: 'X' }],
      ['message:delete', { room: r, id: m2.id, clientId: 'X' }],
    ] as const)
      expect([event, await code(ann, event, payload)]).toEqual([event, 'INVALID_PAYLOAD']);
    const { history } = await join(ann, r);
    expect(history.map((m) => [m.text, m.deleted ?? false, m.reactions ?? null])).toEqual([
      ['one!', false, null],
      ['two', false, null],
    ]);
  }, 60000);
});
