import type {
  JoinResult,
  Message,
  ReadResult,
  SendResult,
  UnreadResult,
  UpdateResult,
} from '@roomcast/contracts';
import {
  connectClient,
  LIFTED_LIMITS,
  requireServices,
  startCluster,
  waitFor,
  type AnyAck,
  type Ok,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

/**
 * Read cursors and unread counts, edits, deletions and reactions (PROTOCOL.md), across three
 * gateways on the machine's Redis and RabbitMQ: what members on different gateways see.
 */
describe('read cursors, unread counts and message updates (3 gateways)', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  let n = 0;
  const room = (label: string) => `sem-${label}-${++n}-${Math.random().toString(36).slice(2, 6)}`;

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'sem',
      gateways: 3,
      gatewayEnv: LIFTED_LIMITS,
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  }, 30000);

  const connect = async (gateway: number, name: string) => {
    const c = await connectClient(cluster.gateways[gateway].url, name);
    clients.push(c);
    return c;
  };
  const ok = <T>(c: TestClient, event: string, payload: unknown) => c.ok<T>(event, payload);
  const join = (c: TestClient, r: string, sinceSeq?: number) =>
    ok<JoinResult>(c, 'room:join', sinceSeq === undefined ? { room: r } : { room: r, sinceSeq });
  const send = (c: TestClient, r: string, text: string) =>
    ok<SendResult>(c, 'message:send', { room: r, text });
  /** `count` messages from the senders in turn, `parallel` at a time. */
  const sendMany = async (senders: TestClient[], r: string, count: number, parallel = 50) => {
    for (let i = 0; i < count; i += parallel) {
      await Promise.all(
        Array.from({ length: Math.min(parallel, count - i) }, (_, k) =>
          send(senders[(i + k) % senders.length], r, `m${i + k}`),
        ),
      );
    }
  };
  const unreadOf = async (c: TestClient, r: string) =>
    (await ok<UnreadResult>(c, 'rooms:unread', {})).rooms.find((x) => x.room === r);

  it('keeps one cursor for two devices of one user; the other device hears of each move', async () => {
    const r = room('cursor');
    const phone = await connect(0, 'Ann');
    const laptop = await connect(1, 'Ann');
    const bob = await connect(2, 'Bob');
    for (const c of [phone, laptop, bob]) await join(c, r);
    const sent = [];
    for (const t of ['a', 'b', 'c']) sent.push(await send(bob, r, t));
    await waitFor(() => laptop.messages.length === 3 && phone.messages.length === 3);
    expect(await unreadOf(laptop, r)).toEqual({
      room: r,
      lastSeq: sent[2].seq,
      // Joined before the room had a message: the cursor stands at 0 (seqs start a generation).
      readSeq: 0,
      unread: 3,
    });

    // The phone reads two of them: the laptop gets `read`, the phone only its ack.
    const read = await ok<ReadResult>(phone, 'room:read', { room: r, seq: sent[1].seq });
    expect(read).toEqual({ ok: true, room: r, readSeq: sent[1].seq, unread: 1 });
    await waitFor(() => laptop.reads.length === 1);
    expect(laptop.reads).toEqual([{ room: r, readSeq: sent[1].seq, unread: 1 }]);
    // Never back: a lower seq answers the cursor as it stands and tells nobody.
    expect(await ok<ReadResult>(laptop, 'room:read', { room: r, seq: 1 })).toMatchObject({
      readSeq: sent[1].seq,
      unread: 1,
    });
    // The laptop's own send moves the cursor to it: the phone hears of it, Bob does not.
    const mine = await send(laptop, r, 'mine');
    await waitFor(() => phone.reads.length === 1);
    expect(phone.reads).toEqual([{ room: r, readSeq: mine.seq, unread: 0 }]);
    expect(bob.reads).toEqual([]);
    expect(laptop.reads).toHaveLength(1);
    // Kept across reconnects: a third device starts where the others left it.
    const tablet = await connect(2, 'Ann');
    expect(await join(tablet, r)).toMatchObject({ readSeq: mine.seq, unread: 0 });
    await send(bob, r, 'new');
    expect(await unreadOf(tablet, r)).toMatchObject({ readSeq: mine.seq, unread: 1 });
  }, 30000);

  it("counts unread exactly after 0, 1, 999, 1000 and 1500 messages, never the user's own", async () => {
    const r = room('count');
    const ann = await connect(0, 'Counter');
    const others = [await connect(1, 'Bob'), await connect(2, 'Cy')];
    await join(ann, r);
    for (const c of others) await join(c, r);
    const first = await send(ann, r, 'my own one');
    let total = 0;
    for (const [upTo, expected] of [
      [0, 0],
      [1, 1],
      [999, 999],
      [1000, 1000],
      [1500, 1000],
    ]) {
      await sendMany(others, r, upTo - total);
      total = upTo;
      const listed = await unreadOf(ann, r);
      // A new connection's join ack says the same.
      const again = await connect(total % 3, 'Counter');
      const ack = await join(again, r);
      again.close();
      expect([upTo, listed?.unread, ack.unread, ack.readSeq]).toEqual([
        upTo,
        expected,
        expected,
        first.seq,
      ]);
    }
    // Retention (1000 messages) has let Ann's first message go: it cannot be changed any more.
    const gone = await ann.ack<AnyAck>('message:edit', { room: r, id: first.id, text: 'x' });
    expect(gone).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  }, 90000);

  it('delivers concurrent edits and reactions from three gateways in one seq order to every member', async () => {
    const r = room('order');
    const authors = [await connect(0, 'Ann'), await connect(1, 'Bob'), await connect(2, 'Cy')];
    const watchers = [await connect(0, 'W0'), await connect(1, 'W1'), await connect(2, 'W2')];
    for (const c of [...authors, ...watchers]) await join(c, r);
    const targets = await Promise.all(authors.map((a, i) => send(a, r, `post ${i}`)));
    await waitFor(() => watchers.every((w) => w.messages.length === 3));
    // Each author edits its own post 5 times and reacts to the others' 5 times, all at once.
    const calls: Promise<Ok<UpdateResult>>[] = [];
    authors.forEach((a, i) => {
      for (let k = 0; k < 5; k++) {
        calls.push(ok(a, 'message:edit', { room: r, id: targets[i].id, text: `edit ${i}.${k}` }));
        const other = targets[(i + 1 + (k % 2)) % 3];
        calls.push(ok(a, 'message:react', { room: r, id: other.id, emoji: '👍', on: k % 2 === 0 }));
      }
      // A message sent amid the updates shares their order.
      calls.push(send(a, r, `amid ${i}`) as unknown as Promise<Ok<UpdateResult>>);
    });
    const acks = await Promise.all(calls);
    const seqs = acks.map((a) => a.seq).sort((x, y) => x - y);
    expect(new Set(seqs).size).toBe(33);
    const members = [...authors, ...watchers];
    const streamOf = (c: TestClient) =>
      [
        ...c.messages.map((m) => ({ seq: m.seq, what: `message ${m.text}` })),
        ...c.updates.map((u) => ({ seq: u.seq, what: `${u.kind} ${u.text ?? u.emoji ?? ''}` })),
      ].filter((e) => e.seq > Math.max(...targets.map((t) => t.seq)));
    await waitFor(() => members.every((c) => streamOf(c).length === 33), 10000);
    for (const c of members) {
      // In seq order as received, each once, and the same for everyone.
      const received = [...c.messages, ...c.updates].map((e) => e.seq);
      const updateSeqs = c.updates.map((u) => u.seq);
      expect(updateSeqs).toEqual([...updateSeqs].sort((x, y) => x - y));
      expect(new Set(received).size).toBe(received.length);
      expect(streamOf(c).sort((x, y) => x.seq - y.seq)).toEqual(
        streamOf(members[0]).sort((x, y) => x.seq - y.seq),
      );
    }
    // The messages' events and updates interleave in seq order on the wire too.
    const order: number[] = [];
    const late = await connect(1, 'Late');
    await join(late, r);
    late.socket.on('message', (m: Message) => order.push(m.seq));
    late.socket.on('message:update', (u) => order.push(u.seq));
    await Promise.all([
      ok(authors[0], 'message:edit', { room: r, id: targets[0].id, text: 'final' }),
      send(authors[1], r, 'last'),
      ok(authors[2], 'message:react', { room: r, id: targets[0].id, emoji: '🎉', on: true }),
    ]);
    await waitFor(() => order.length === 3);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    // History holds each message in its current state.
    const history = (await join(late, r)).history;
    const post0 = history.find((m) => m.id === targets[0].id);
    expect(post0).toMatchObject({ text: 'final', editedAt: expect.any(Number) });
    expect(post0?.reactions?.['🎉']).toMatchObject({ count: 1, users: [expect.any(String)] });
  }, 60000);

  it('gives a client that reconnects with sinceSeq the updates to what it already showed', async () => {
    const r = room('resume');
    const ann = await connect(0, 'Ann');
    const bob = await connect(1, 'Bob');
    let dave = await connect(2, 'Dave');
    for (const c of [ann, bob, dave]) await join(c, r);
    const [m1, m2, m3] = [
      await send(ann, r, 'one'),
      await send(ann, r, 'two'),
      await send(bob, r, 'three'),
    ];
    await waitFor(() => dave.messages.length === 3);
    const since = Math.max(...dave.messages.map((m) => m.seq));
    dave.close();
    const edit = await ok<UpdateResult>(ann, 'message:edit', { room: r, id: m1.id, text: 'one!' });
    const del = await ok<UpdateResult>(ann, 'message:delete', { room: r, id: m2.id });
    const react = await ok<UpdateResult>(bob, 'message:react', {
      room: r,
      id: m3.id,
      emoji: '👍',
      on: true,
    });
    const m4 = await send(bob, r, 'four');
    const react4 = await ok<UpdateResult>(ann, 'message:react', {
      room: r,
      id: m4.id,
      emoji: '❤️',
      on: true,
    });
    dave = await connect(0, 'Dave');
    const ack = await join(dave, r, since);
    expect(ack.complete).toBe(true);
    expect(ack.updates.map((u) => [u.seq, u.kind, u.targetSeq])).toEqual([
      [edit.seq, 'edit', m1.seq],
      [del.seq, 'delete', m2.seq],
      [react.seq, 'react', m3.seq],
    ]);
    expect(ack.updates[0]).toMatchObject({ id: m1.id, text: 'one!', user: { name: 'Ann' } });
    expect(ack.updates[2]).toMatchObject({ emoji: '👍', on: true, user: { name: 'Bob' } });
    // The new message comes in its current state, its reaction included; no update repeats it.
    expect(ack.history.map((m) => [m.seq, m.text, m.reactions])).toEqual([
      [m4.seq, 'four', { '❤️': { count: 1, users: [ack.history[0].reactions!['❤️'].users[0]] } }],
    ]);
    // Ann's own reaction is hers in the ack of her join too; Dave has none.
    expect(ack.mine).toEqual({});
    expect((await join(ann, r)).mine).toEqual({ [m4.id]: ['❤️'] });
    expect(react4.seq).toBeGreaterThan(m4.seq);
    // And the room's history shows the deletion.
    const [, two] = (await join(dave, r)).history;
    expect(two).toMatchObject({ id: m2.id, text: '', deleted: true });
  }, 30000);

  it('lets only the author edit or delete, and answers NOT_FOUND and NOT_IN_ROOM', async () => {
    const r = room('rules');
    const ann = await connect(0, 'Ann');
    const bob = await connect(1, 'Bob');
    const outsider = await connect(2, 'Out');
    await join(ann, r);
    await join(bob, r);
    const m = await send(ann, r, 'mine');
    const code = (c: TestClient, event: string, payload: unknown) => c.code(event, payload);
    expect(await code(bob, 'message:edit', { room: r, id: m.id, text: 'hijack' })).toBe(
      'FORBIDDEN',
    );
    expect(await code(bob, 'message:delete', { room: r, id: m.id })).toBe('FORBIDDEN');
    expect(
      await code(outsider, 'message:react', { room: r, id: m.id, emoji: '👍', on: true }),
    ).toBe('NOT_IN_ROOM');
    expect(
      await code(bob, 'message:edit', {
        room: r,
        id: '00000000-0000-4000-8000-000000000000',
        text: 'x',
      }),
    ).toBe('NOT_FOUND');
    expect(await code(bob, 'message:react', { room: r, id: m.id, emoji: '👍', on: true })).toBe(
      'ok',
    );
    expect(await code(ann, 'message:delete', { room: r, id: m.id })).toBe('ok');
    expect(await code(ann, 'message:edit', { room: r, id: m.id, text: 'back' })).toBe('NOT_FOUND');
    expect(await code(bob, 'message:react', { room: r, id: m.id, emoji: '👍', on: false })).toBe(
      'NOT_FOUND',
    );
    // Bad payloads get INVALID_PAYLOAD, the server keeps serving.
    for (const payload of [
      { room: r, id: m.id, text: '   ' },
      { room: r, id: m.id, text: 'x', clientId: null },
      { room: r, id: 'a.b', text: 'x' },
      { room: r, id: m.id },
    ])
      expect(await code(ann, 'message:edit', payload)).toBe('INVALID_PAYLOAD');
    expect(await code(ann, 'message:react', { room: r, id: m.id, emoji: '', on: true })).toBe(
      'INVALID_PAYLOAD',
    );
    expect(await code(ann, 'rooms:unread', { extra: 1 })).toBe('INVALID_PAYLOAD');
    expect(await code(ann, 'room:read', { room: r, seq: -1 })).toBe('INVALID_PAYLOAD');
    // A retried clientId gets the first ack and is delivered once.
    const m2 = await send(ann, r, 'again');
    const a = await ok<UpdateResult>(ann, 'message:edit', {
      room: r,
      id: m2.id,
      text: 'v2',
      clientId: 'k',
    });
    const b = await ok<UpdateResult>(ann, 'message:edit', {
      room: r,
      id: m2.id,
      text: 'v2',
      clientId: 'k',
    });
    expect(b.seq).toBe(a.seq);
    // The same clientId for another text is another change: refused, never taken for a retry.
    expect(await code(ann, 'message:edit', { room: r, id: m2.id, text: 'v3', clientId: 'k' })).toBe(
      'INVALID_PAYLOAD',
    );
    await waitFor(() => bob.updates.some((u) => u.seq === a.seq));
    await new Promise((done) => setTimeout(done, 300));
    expect(bob.updates.filter((u) => u.seq === a.seq)).toHaveLength(1);
  }, 30000);
});
