import { createClient, memoryStorage, type Client, type ClientOptions } from './index';
import type { Message, Update } from './protocol';
import type { ResetNotice, Room } from './room';
import { FakeServer, refusal, sleep, waitFor } from './testing/fake-server';

let server: FakeServer;
let clients: Client[] = [];

async function start(options: ConstructorParameters<typeof FakeServer>[0] = {}) {
  server = await new FakeServer(options).start();
}

function connect(extra: Partial<ClientOptions> = {}): Client {
  const client = createClient({
    url: server.url,
    auth: { name: 'ann' },
    socket: { transports: ['websocket'] },
    backoff: { baseMs: 20, capMs: 200 },
    ackTimeoutMs: 1000,
    ...extra,
  });
  clients.push(client);
  return client;
}

/** Everything a room told the app, in order. */
function record(room: Room) {
  const seen = { messages: [] as Message[], updates: [] as Update[], resets: [] as ResetNotice[] };
  room.on('message', (m) => seen.messages.push(m));
  room.on('update', (u) => seen.updates.push(u));
  room.on('reset', (r) => seen.resets.push(r));
  return seen;
}

const texts = (ms: readonly { text: string }[]) => ms.map((m) => m.text);
const seqs = (ms: readonly { seq: number }[]) => ms.map((m) => m.seq);
const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1] < x);
/** Distinct sockets the server saw calls from. */
const sockets = () => new Set(server.calls.map((c) => c.socket)).size;

/** Drops every connection while the server goes on (a gateway that died). */
function cut(): void {
  server.io.disconnectSockets(true);
}

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await server?.close();
});

describe('createClient against a fake server', () => {
  it('delivers a live message that arrives before the join ack once, after the history', async () => {
    await start();
    server.post('general', 'a');
    server.post('general', 'b');
    server.beforeJoinAck = (room) => void server.post(room, 'c');
    const room = connect().room('general');
    const seen = record(room);
    await waitFor(() => seen.messages.length >= 3);
    await sleep(50);
    expect(texts(seen.messages)).toEqual(['a', 'b', 'c']);
    expect(texts(room.messages)).toEqual(['a', 'b', 'c']);
    expect(ascending(seqs(room.messages))).toBe(true);
  });

  it('a repeated join whose history repeats a live message shows it once', async () => {
    await start();
    const client = connect();
    const room = client.room('general');
    const seen = record(room);
    await waitFor(() => room.status === 'joined');
    // The server lost the membership (NOT_IN_ROOM): the SDK joins again, and a message posted
    // meanwhile reaches it live and in the repeated join's history.
    let refused = false;
    server.hook = (call) => {
      if (call.event === 'message:send' && !refused) {
        refused = true;
        return refusal('NOT_IN_ROOM', 'not in room general');
      }
      if (call.event === 'room:join') server.post('general', 'meanwhile');
    };
    await expect(room.send('mine')).resolves.toMatchObject({ seq: expect.any(Number) });
    await waitFor(() => seen.messages.length >= 2);
    await sleep(50);
    expect(server.calledBy('room:join')).toHaveLength(2);
    expect(texts(seen.messages)).toEqual(['meanwhile', 'mine']);
    expect(texts(room.messages)).toEqual(['meanwhile', 'mine']);
  });

  it('complete: false with a live message: reset names the seq after which messages are gone, and why', async () => {
    await start();
    const room = connect().room('general');
    const seen = record(room);
    server.post('general', 'm1');
    const m2 = server.post('general', 'm2');
    await waitFor(() => seen.messages.length === 2);
    cut();
    server.post('general', 'lost');
    const m4 = server.post('general', 'kept');
    server.trim('general', m4.seq - 1);
    server.beforeJoinAck = (r) => void server.post(r, 'live');
    await waitFor(() => seen.messages.length === 4);
    await sleep(50);
    expect(seen.resets).toEqual([
      { room: 'general', afterSeq: m2.seq, reason: 'retention', resumeSeq: m4.seq },
    ]);
    expect(texts(seen.messages)).toEqual(['m1', 'm2', 'kept', 'live']);
    expect(texts(room.messages)).toEqual(['m1', 'm2', 'kept', 'live']);
  });

  it('retention in a young room (its counter started at the clock just now) is a retention reset', async () => {
    await start();
    // As Redis starts a room's counter: at its clock now (here 50 ms ahead of the gateway that
    // stamps the ts), so the first seq, read as a time, is just past the first message's ts: the
    // case a seq-as-time test took for a counter restart.
    server.restartCounter('young', 50);
    const room = connect().room('young');
    const seen = record(room);
    const m1 = server.post('young', 'first');
    await waitFor(() => seen.messages.length === 1);
    cut();
    let last = m1;
    for (let i = 0; i < 60; i++) last = server.post('young', `missed ${i}`);
    server.trim('young', last.seq - 10);
    await waitFor(() => seen.messages.length === 11);
    expect(seen.resets).toEqual([
      { room: 'young', afterSeq: m1.seq, reason: 'retention', resumeSeq: last.seq - 9 },
    ]);
  });

  it('a counter that started again (Redis lost the room) is a reset with that reason', async () => {
    await start();
    const room = connect().room('general');
    const seen = record(room);
    const old = server.post('general', 'before');
    await waitFor(() => seen.messages.length === 1);
    cut();
    server.restartCounter('general');
    const fresh = server.post('general', 'after');
    await waitFor(() => seen.messages.length === 2);
    expect(seen.resets).toEqual([
      { room: 'general', afterSeq: old.seq, reason: 'counter_restart', resumeSeq: fresh.seq },
    ]);
    expect(texts(room.messages)).toEqual(['before', 'after']);
  });

  it('an ack lost is retried with the same clientId: one message, the first ack', async () => {
    await start();
    const room = connect({ ackTimeoutMs: 300 }).room('general');
    const seen = record(room);
    let lost = 0;
    server.hook = (call) => {
      if (call.event === 'message:send' && lost++ === 0) return 'lose-ack';
    };
    const ack = await room.send('hello');
    const sends = server.calledBy('message:send');
    expect(sends).toHaveLength(2);
    expect(sends[1].payload.clientId).toBe(sends[0].payload.clientId);
    expect(sends[1].socket).not.toBe(sends[0].socket);
    expect(server.messages('general')).toEqual([expect.objectContaining({ text: 'hello' })]);
    expect(ack).toEqual({
      id: server.messages('general')[0].id,
      seq: server.messages('general')[0].seq,
      ts: expect.any(Number),
    });
    await waitFor(() => room.messages.every((m) => !m.pending));
    expect(texts(seen.messages)).toEqual(['hello']);
    expect(room.messages).toEqual([expect.objectContaining({ text: 'hello', seq: ack.seq })]);
  });

  it('shows an own send as pending until the server accepts it', async () => {
    await start();
    const room = connect().room('general');
    await waitFor(() => room.status === 'joined');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    server.hook = async (call) => {
      if (call.event === 'message:send') await held;
    };
    const sent = room.send('soon');
    await waitFor(() => room.messages.length === 1);
    expect(room.messages[0]).toMatchObject({ text: 'soon', pending: true });
    release();
    await sent;
    await waitFor(() => !room.messages[0].pending);
    expect(room.messages).toEqual([
      expect.objectContaining({ text: 'soon', user: { id: 'u-ann', name: 'ann' } }),
    ]);
  });

  it('refreshes the token in-band while a send is on its way: both settle, the send once', async () => {
    await start({ tokenLifeMs: 1000 });
    let n = 0;
    const client = connect({ auth: { getToken: async () => `ann.${++n}` } });
    const room = client.room('general');
    await waitFor(() => room.status === 'joined');
    let sent: Promise<unknown> | undefined;
    server.hook = async (call) => {
      if (call.event === 'auth:refresh' && !sent) {
        sent = room.send('during the refresh');
        await sleep(200);
      }
    };
    await waitFor(() => sent !== undefined, 3000, 'a refresh');
    await expect(sent).resolves.toMatchObject({ seq: expect.any(Number) });
    await waitFor(() => server.calledBy('auth:refresh').length >= 2, 3000, 'a second refresh');
    expect(server.calledBy('auth:refresh')[0].payload).toEqual({ token: 'ann.2' });
    expect(server.messages('general')).toHaveLength(1);
    expect(sockets()).toBe(1);
    expect(client.state).toBe('live');
  });

  it("retries a failed refresh within the token's last stretch, however long its backoff", async () => {
    // A 2 s token: refreshed 400 ms before it expires. The server answers UNAVAILABLE for the
    // first 300 ms of that lead, and the backoff draws its longest waits (250, then 500 ms).
    await start({ tokenLifeMs: 2000 });
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.999);
    try {
      let n = 0;
      const client = connect({ auth: { getToken: async () => `ann.${++n}` } });
      const session = await new Promise<{ expiresAt?: number }>((r) => client.on('session', r));
      const expiresAt = session.expiresAt!;
      let downUntil = 0;
      const refreshed: number[] = [];
      server.hook = (call) => {
        if (call.event !== 'auth:refresh') return;
        if (!downUntil) downUntil = Date.now() + 300;
        if (Date.now() < downUntil) return refusal('UNAVAILABLE', 'Redis is restarting', 1000);
        refreshed.push(Date.now());
      };
      await waitFor(() => refreshed.length > 0, 4000, 'a refresh that went through');
      expect(refreshed[0]).toBeLessThan(expiresAt);
      expect(server.calledBy('auth:refresh').length).toBeGreaterThanOrEqual(3);
      expect(sockets()).toBe(1);
    } finally {
      random.mockRestore();
    }
  });

  it('sends nothing to a room before the room is rejoined on the new connection', async () => {
    await start();
    const room = connect().room('general');
    await waitFor(() => room.status === 'joined');
    let acked = 0;
    let rejoining: Promise<unknown> | undefined;
    server.beforeJoinAck = async () => {
      // A send made on the new connection before its join is acked.
      rejoining ??= room.send('while rejoining');
      await sleep(150);
      acked = Date.now();
    };
    cut();
    await room.send('while away');
    await rejoining;
    await waitFor(() => acked > 0);
    const second = server.calls.filter((c) => c.socket !== server.calls[0].socket);
    expect(second.map((c) => c.event)).toEqual(['room:join', 'message:send', 'message:send']);
    for (const send of second.slice(1)) expect(send.at).toBeGreaterThanOrEqual(acked);
    expect(texts(server.messages('general'))).toEqual(['while away', 'while rejoining']);
  });

  it('pages on with room:history { afterSeq } after a rejoin with more, every message once in seq order', async () => {
    await start();
    const room = connect().room('general');
    const seen = record(room);
    server.post('general', 'first');
    await waitFor(() => seen.messages.length === 1);
    cut();
    for (let i = 0; i < 250; i++) server.post('general', `away ${i}`);
    server.beforeJoinAck = (r) => void server.post(r, 'live');
    await waitFor(() => seen.messages.length === 252);
    await sleep(50);
    expect(seen.messages).toHaveLength(252);
    expect(ascending(seqs(seen.messages))).toBe(true);
    expect(texts(seen.messages).at(-1)).toBe('live');
    expect(seqs(room.messages)).toEqual(seqs(seen.messages));
    expect(server.calledBy('room:history').map((c) => c.payload.afterSeq)).toEqual([
      seen.messages[100].seq,
      seen.messages[200].seq,
    ]);
    expect(seen.resets).toEqual([]);
  });

  it('a connection lost while paging rejoins from the last message paged, not from a newer update', async () => {
    await start();
    const room = connect().room('general');
    const seen = record(room);
    const first = server.post('general', 'first');
    await waitFor(() => seen.messages.length === 1);
    cut();
    for (let i = 0; i < 150; i++) server.post('general', `away ${i}`);
    // An update after all of them, to a message the client holds: in the rejoin's `updates`.
    server.change('general', { id: 'u-bob', name: 'bob' }, first.id, 'react', {
      emoji: '👍',
      on: true,
    });
    let paged = 0;
    server.hook = (call) => {
      if (call.event === 'room:history' && paged++ === 0) {
        cut();
        return 'drop';
      }
    };
    await waitFor(() => seen.messages.length === 151);
    await sleep(50);
    const joins = server.calledBy('room:join');
    expect(joins.map((c) => c.payload.sinceSeq)).toEqual([
      undefined,
      first.seq,
      server.messages('general')[100].seq,
    ]);
    expect(seqs(seen.messages)).toEqual(seqs(server.messages('general')));
    expect(room.messages[0].reactions).toEqual({ '👍': { count: 1, users: ['u-bob'] } });
  });

  it('fills a gap in the live stream with a repeated join: every message once, in seq order', async () => {
    await start();
    const room = connect().room('general');
    const seen = record(room);
    await waitFor(() => room.status === 'joined');
    server.post('general', 'one');
    await waitFor(() => seen.messages.length === 1);
    server.post('general', 'two', undefined, true);
    server.post('general', 'three', undefined, true);
    server.post('general', 'four');
    await waitFor(() => seen.messages.length === 4);
    await sleep(50);
    expect(texts(seen.messages)).toEqual(['one', 'two', 'three', 'four']);
    expect(texts(room.messages)).toEqual(['one', 'two', 'three', 'four']);
    expect(server.calledBy('room:join').map((c) => c.payload.sinceSeq)).toEqual([
      undefined,
      seen.messages[0].seq,
    ]);
    expect(seen.resets).toEqual([]);
  });

  it('a live gap that history no longer holds is a reset naming the last seq applied', async () => {
    await start();
    const room = connect().room('general');
    const seen = record(room);
    await waitFor(() => room.status === 'joined');
    const one = server.post('general', 'one');
    await waitFor(() => seen.messages.length === 1);
    const lost = server.post('general', 'lost', undefined, true);
    server.trim('general', lost.seq);
    const next = server.post('general', 'next');
    await waitFor(() => seen.messages.length === 2);
    await sleep(50);
    expect(seen.resets).toEqual([
      { room: 'general', afterSeq: one.seq, reason: 'retention', resumeSeq: next.seq },
    ]);
    expect(texts(seen.messages)).toEqual(['one', 'next']);
  });

  it('waits the retryAfterMs of a refused join before joining again', async () => {
    await start();
    let refused = false;
    server.hook = (call) => {
      if (call.event === 'room:join' && !refused) {
        refused = true;
        return refusal('RATE_LIMITED', 'too many events', 300);
      }
    };
    const room = connect().room('general');
    await waitFor(() => room.status === 'joined');
    const [first, second] = server.calledBy('room:join');
    expect(second.at - first.at).toBeGreaterThanOrEqual(300);
  });

  it("paces joins and rejoins under the session's event budget", async () => {
    await start({ limits: { eventsPerSec: 10, eventsBurst: 10 } });
    const client = connect();
    await client.me;
    const rooms = Array.from({ length: 20 }, (_, i) => client.room(`r${i}`));
    await waitFor(() => rooms.every((r) => r.status === 'joined'), 5000);
    cut();
    await waitFor(() => sockets() === 2 && rooms.every((r) => r.status === 'joined'), 5000);
    const first = server.calls[0].socket;
    for (const socket of [first, server.calls.at(-1)!.socket]) {
      const joins = server.calls
        .filter((c) => c.socket === socket && c.event === 'room:join')
        .map((c) => c.at);
      expect(joins).toHaveLength(20);
      // The server's bucket: 10 at once, then 10 a second.
      joins.forEach((at, i) =>
        expect(i + 1).toBeLessThanOrEqual(10 + ((at - joins[0]) / 1000) * 10),
      );
      expect(joins.at(-1)! - joins[0]).toBeGreaterThanOrEqual(1000);
    }
  }, 15_000);

  it('stops on a refused handshake (state refused)', async () => {
    await start({ admit: () => 'unauthorized' });
    const client = connect();
    const states: string[] = [];
    client.on('state', (s) => states.push(s));
    await waitFor(() => client.state === 'refused');
    await expect(client.me).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await sleep(300);
    expect(states).toEqual(['refused']);
  });

  it('comes back after a full gateway refused the handshake, with backoff', async () => {
    let tries = 0;
    await start({
      admit: () => (++tries <= 3 ? 'too many connections from this address' : undefined),
    });
    const client = connect();
    await waitFor(() => client.state === 'live');
    expect(tries).toBe(4);
    await expect(client.me).resolves.toEqual({ id: 'u-ann', name: 'ann' });
  });

  it('reconnects after session:end with retry: true, stops after retry: false', async () => {
    await start();
    const client = connect();
    const room = client.room('general');
    await waitFor(() => room.status === 'joined');
    const ends: unknown[] = [];
    client.on('end', (e) => ends.push(e));
    for (const s of await server.io.fetchSockets()) {
      s.emit('session:end', { reason: 'shutdown', retry: true });
      s.disconnect(true);
    }
    await waitFor(() => sockets() === 2 && room.status === 'joined');
    expect(client.state).toBe('live');
    for (const s of await server.io.fetchSockets()) {
      s.emit('session:end', { reason: 'revoked', retry: false });
    }
    await waitFor(() => client.state === 'refused');
    expect(ends).toEqual([
      { reason: 'shutdown', retry: true },
      { reason: 'revoked', retry: false },
    ]);
  });

  it('sends what waited once reconnect() follows a refusal', async () => {
    await start();
    const client = connect();
    const room = client.room('general');
    await waitFor(() => room.status === 'joined');
    for (const s of await server.io.fetchSockets())
      s.emit('session:end', { reason: 'revoked', retry: false });
    await waitFor(() => client.state === 'refused');
    const sent = room.send('after signing in again');
    await sleep(100);
    expect(server.calledBy('message:send')).toEqual([]);
    client.reconnect();
    await expect(sent).resolves.toMatchObject({ seq: expect.any(Number) });
    expect(server.messages('general')).toHaveLength(1);
  });

  it('takes a link whose answers stop for dead, within the ack timeout, and sends again', async () => {
    await start();
    const client = connect({ ackTimeoutMs: 400 });
    const room = client.room('general');
    await waitFor(() => room.status === 'joined');
    let dropped = 0;
    server.hook = (call) => {
      if (call.event === 'message:send' && dropped++ === 0) return 'drop';
    };
    const started = Date.now();
    await room.send('again');
    // The ack timeout, a reconnect, a rejoin and the retry: far less than waiting forever.
    expect(Date.now() - started).toBeLessThan(3000);
    expect(server.messages('general')).toHaveLength(1);
    expect(sockets()).toBe(2);
  });

  it('notices a link gone silent by the heartbeat (pingInterval + pingTimeout), with nothing asked', async () => {
    await start();
    const client = connect();
    const room = client.room('general');
    await waitFor(() => room.status === 'joined');
    // Freeze the connection: the server's side writes nothing more (no ping, no message).
    const frozenLinks: { cork(): void; destroy(): void }[] = [];
    for (const s of server.io.sockets.sockets.values()) {
      const { conn } = s as unknown as {
        conn: { transport: { socket: { _socket: { cork(): void; destroy(): void } } } };
      };
      frozenLinks.push(conn.transport.socket._socket);
    }
    for (const link of frozenLinks) link.cork();
    const frozen = Date.now();
    await waitFor(() => client.state === 'reconnecting', 3000, 'the link taken for dead');
    // The fake server pings every 500 ms and waits 500 ms for the pong.
    expect(Date.now() - frozen).toBeLessThan(2000);
    await waitFor(() => client.state === 'live' && room.status === 'joined', 3000, 'back');
    expect(server.calledBy('room:join')).toHaveLength(2);
    for (const link of frozenLinks) link.destroy();
  });

  it('keeps unsettled changes in its storage: the next client sends them, once', async () => {
    await start();
    const storage = memoryStorage();
    const first = connect({ storage, ackTimeoutMs: 5000 });
    const room = first.room('general');
    await waitFor(() => room.status === 'joined');
    server.hook = (call) => (call.event === 'message:send' ? 'lose-ack' : undefined);
    const sent = room.send('before the reload');
    await waitFor(() => server.calledBy('message:send').length === 1);
    first.close();
    await expect(sent).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await storage.load()).toHaveLength(1);
    server.hook = () => undefined;
    const second = connect({ storage });
    const settled: unknown[] = [];
    second.on('settled', (s) => settled.push(s));
    await waitFor(() => settled.length === 1);
    expect(settled).toEqual([
      {
        op: expect.objectContaining({ kind: 'send', text: 'before the reload' }),
        result: expect.objectContaining({ seq: server.messages('general')[0].seq }),
        error: undefined,
      },
    ]);
    expect(server.messages('general')).toHaveLength(1);
    expect(await storage.load()).toEqual([]);
    await waitFor(() => second.room('general').messages.length === 1);
  });

  it('retries a send answered UNAVAILABLE (a broker cut) after its retryAfterMs, once accepted', async () => {
    await start();
    const room = connect().room('general');
    let refused = 0;
    server.hook = (call) => {
      if (call.event === 'message:send' && refused++ < 2)
        return refusal('UNAVAILABLE', 'broker unavailable', 150);
    };
    const ack = await room.send('through the cut');
    const sends = server.calledBy('message:send');
    expect(sends).toHaveLength(3);
    expect(new Set(sends.map((c) => c.payload.clientId)).size).toBe(1);
    expect(sends[1].at - sends[0].at).toBeGreaterThanOrEqual(150);
    expect(sends[2].at - sends[1].at).toBeGreaterThanOrEqual(150);
    expect(server.messages('general')).toEqual([expect.objectContaining({ seq: ack.seq })]);
  });

  it('rejects a change the server refuses for good, once, and drops it from the outbox', async () => {
    await start();
    const room = connect().room('general');
    await expect(room.edit('nope', 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(server.calledBy('message:edit')).toHaveLength(1);
  });

  it('applies edits, deletions and reactions once, also those made while it was away', async () => {
    await start();
    const client = connect();
    const room = client.room('general');
    const seen = record(room);
    await waitFor(() => room.status === 'joined');
    const a = await room.send('a');
    const b = await room.send('b');
    await room.edit(a.id, 'a2');
    await room.react(a.id, '👍', true);
    await waitFor(() => seen.updates.length === 2);
    cut();
    const bob = { id: 'u-bob', name: 'bob' };
    server.change('general', bob, a.id, 'react', { emoji: '👍', on: true });
    server.change('general', { id: 'u-ann', name: 'ann' }, b.id, 'delete');
    await waitFor(() => seen.updates.length === 4);
    await sleep(50);
    expect(room.messages).toEqual([
      expect.objectContaining({
        text: 'a2',
        editedAt: expect.any(Number),
        reactions: { '👍': { count: 2, users: ['u-ann', 'u-bob'] } },
        mine: ['👍'],
      }),
      expect.objectContaining({ text: '', deleted: true }),
    ]);
    expect(ascending(seqs(seen.updates))).toBe(true);
  });

  it('keeps members, unread counts and the read cursor current, and relays typing', async () => {
    await start();
    const ann = connect();
    const room = ann.room('general');
    await waitFor(() => room.status === 'joined');
    expect([room.members, room.memberCount]).toEqual([[{ id: 'u-ann', name: 'ann' }], 1]);
    const typing: unknown[] = [];
    room.on('typing', (t) => typing.push(t));
    const bobRoom = connect({ auth: { name: 'bob' } }).room('general');
    await waitFor(() => room.memberCount === 2);
    expect(room.members.map((u) => u.id)).toEqual(['u-ann', 'u-bob']);
    await waitFor(() => bobRoom.status === 'joined');
    bobRoom.setTyping(true);
    await waitFor(() => typing.length === 1);
    expect(typing).toEqual([{ room: 'general', user: { id: 'u-bob', name: 'bob' }, typing: true }]);
    await bobRoom.send('one');
    await bobRoom.send('two');
    await waitFor(() => room.unread === 2);
    const read = await room.markRead();
    expect(read).toMatchObject({ readSeq: room.messages[1].seq, unread: 0 });
    expect([room.readSeq, room.unread]).toEqual([room.messages[1].seq, 0]);
    await bobRoom.leave();
    await waitFor(() => room.memberCount === 1);
    expect(room.members.map((u) => u.id)).toEqual(['u-ann']);
  });

  it('refuses a room name the server would refuse, and rooms once closed', async () => {
    await start();
    const client = connect();
    for (const name of ['a.b', 'a b', '', 'x'.repeat(65), '#', '*'])
      expect(() => client.room(name)).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD' }));
    expect(client.room('x'.repeat(64)).name).toHaveLength(64);
    client.close();
    expect(() => client.room('general')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('gives a snapshot that stays the same object until something changes', async () => {
    await start();
    const room = connect().room('general');
    let calls = 0;
    room.subscribe(() => calls++);
    await waitFor(() => room.status === 'joined');
    const before = room.getSnapshot();
    expect(room.getSnapshot()).toBe(before);
    const changes = calls;
    server.post('general', 'x');
    await waitFor(() => room.getSnapshot() !== before);
    expect(calls).toBeGreaterThan(changes);
    expect(texts(room.getSnapshot().messages)).toEqual(['x']);
  });
});
