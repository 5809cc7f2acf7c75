import {
  connectClient,
  exited,
  requireServices,
  startCluster,
  startService,
  stopService,
  waitFor,
  type RunningService,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

const API_TOKEN = 'api-token-for-the-moderation-tests';

/**
 * Moderation on the server API (PROTOCOL.md): kick, ban, mute and disconnect, each effective on
 * every gateway within 1 s of the answer, for a user connected twice on two gateways while a
 * third user watches from the third.
 */
describe('moderation: kick, ban, mute, disconnect (3 gateways, the server API)', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  let n = 0;
  /** The gateway the kill -9 case starts again (not the cluster's own: stopped here). */
  let restarted: RunningService | undefined;

  const api = (path: string, method = 'POST', body?: unknown, token = API_TOKEN) =>
    fetch(`${cluster.api.url}/api${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const json = async (res: Response) => ({ status: res.status, body: await res.json() });

  /** Eve twice (gateways 1 and 2) and Bob (gateway 3), all in a room of the case's own. */
  const scene = async () => {
    const room = `mod-${++n}`;
    const eve = `Eve${n}`;
    const [g1, g2, g3] = cluster.gateways;
    const e1 = await connectClient(g1.url, eve);
    const e2 = await connectClient(g2.url, eve);
    const bob = await connectClient(g3.url, `Bob${n}`);
    clients.push(e1, e2, bob);
    for (const c of [e1, e2, bob]) await c.ok('room:join', { room });
    await waitFor(() => e1.sessions.length === 1, 3000, 'the session event');
    const eveId = e1.sessions[0].user.id;
    return { room, e1, e2, bob, eveId };
  };

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({ label: 'mod', gateways: 3, apiEnv: { API_TOKEN } });
  }, 60000);

  afterEach(() => cluster.closeClients(clients));
  afterAll(async () => {
    if (restarted) {
      stopService(restarted, 'SIGKILL');
      await exited(restarted.child);
    }
    await cluster?.stop();
  });

  it('kicks a user out of a room on both gateways, the others see one leave, and the user may come back', async () => {
    const { room, e1, e2, bob, eveId } = await scene();
    const started = Date.now();
    const res = await json(
      await api(`/rooms/${room}/kick`, 'POST', { userId: eveId, reason: 'spam' }),
    );
    expect(res).toEqual({ status: 200, body: { room, userId: eveId, connections: 2 } });
    await waitFor(() => e1.removed.length + e2.removed.length === 2, 1000, 'room:removed on both');
    expect(Date.now() - started).toBeLessThan(2000);
    expect([...e1.removed, ...e2.removed]).toEqual([
      { room, reason: 'kicked' },
      { room, reason: 'kicked' },
    ]);
    expect(await e1.code('message:send', { room, text: 'still here?' })).toBe('NOT_IN_ROOM');
    await waitFor(
      () => bob.presence.filter((p) => p.event === 'leave' && p.user.id === eveId).length === 1,
      2000,
      "Bob's one leave notice",
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(bob.presence.filter((p) => p.event === 'leave' && p.user.id === eveId)).toHaveLength(1);
    // A kick is not a ban.
    await expect(e1.ok('room:join', { room })).resolves.toMatchObject({ ok: true });
  });

  it('bans: removed everywhere, joins FORBIDDEN, listed, and a 2 s ban ends by itself', async () => {
    const { room, e1, e2, eveId } = await scene();
    const res = await json(await api(`/rooms/${room}/bans/${eveId}`, 'PUT', { durationMs: 2000 }));
    expect(res).toMatchObject({ status: 200, body: { room, userId: eveId, connections: 2 } });
    await waitFor(() => e1.removed.length + e2.removed.length === 2, 1000, 'room:removed on both');
    expect(e1.removed).toEqual([{ room, reason: 'banned' }]);
    // A rejoin with sinceSeq gets no history: no join at all.
    expect(await e2.code('room:join', { room, sinceSeq: 1 })).toBe('FORBIDDEN');
    const listed = await json(await api(`/rooms/${room}/bans`, 'GET'));
    expect(listed).toMatchObject({ status: 200, body: { bans: [{ userId: eveId }] } });
    await waitFor(
      async () => (await e1.code('room:join', { room })) === 'ok',
      4000,
      'the ban to end',
    );
    expect((await json(await api(`/rooms/${room}/bans`, 'GET'))).body).toEqual({ bans: [] });
  });

  it('a ban with no end holds until lifted', async () => {
    const { room, e1, eveId } = await scene();
    expect((await api(`/rooms/${room}/bans/${eveId}`, 'PUT', { reason: 'abuse' })).status).toBe(
      200,
    );
    await waitFor(() => e1.removed.length === 1, 1000, 'room:removed');
    expect(await e1.code('room:join', { room })).toBe('FORBIDDEN');
    expect((await api(`/rooms/${room}/bans/${eveId}`, 'DELETE')).status).toBe(204);
    await expect(e1.ok('room:join', { room })).resolves.toMatchObject({ ok: true });
  });

  it('mutes: sends, edits and reactions FORBIDDEN on both gateways, reads fine, until lifted', async () => {
    const { room, e1, e2, eveId } = await scene();
    const sent = await e1.ok<{ id: string }>('message:send', { room, text: 'before the mute' });
    const res = await json(
      await api(`/rooms/${room}/mutes/${eveId}`, 'PUT', { durationMs: 60000 }),
    );
    expect(res).toMatchObject({ status: 200, body: { room, userId: eveId } });
    expect((await json(await api(`/rooms/${room}/mutes`, 'GET'))).body).toMatchObject({
      mutes: [{ userId: eveId, until: expect.any(Number) }],
    });
    await waitFor(
      async () => (await e2.code('message:send', { room, text: 'muted?' })) === 'FORBIDDEN',
      1000,
      'the mute on the second gateway',
    );
    expect(await e1.code('message:send', { room, text: 'muted?' })).toBe('FORBIDDEN');
    expect(await e1.code('message:edit', { room, id: sent.id, text: 'x' })).toBe('FORBIDDEN');
    expect(await e1.code('message:react', { room, id: sent.id, emoji: '👍', on: true })).toBe(
      'FORBIDDEN',
    );
    await expect(e1.ok('room:history', { room })).resolves.toMatchObject({ ok: true });
    // A rejoin (after a reconnect, on any gateway) reads the mute from Redis.
    const e3 = await connectClient(cluster.gateways[2].url, e1.sessions[0].user.name);
    clients.push(e3);
    await e3.ok('room:join', { room });
    expect(await e3.code('message:send', { room, text: 'muted?' })).toBe('FORBIDDEN');
    expect((await api(`/rooms/${room}/mutes/${eveId}`, 'DELETE')).status).toBe(204);
    await waitFor(
      async () => (await e1.code('message:send', { room, text: 'free again' })) === 'ok',
      1000,
      'the mute lifted',
    );
    expect(await e3.code('message:send', { room, text: 'free again' })).toBe('ok');
  });

  it('disconnects a user everywhere: session:end revoked, no retry, and presence drops the user', async () => {
    const { room, e1, e2, bob, eveId } = await scene();
    const res = await json(await api(`/users/${eveId}/disconnect`, 'POST', {}));
    expect(res).toEqual({ status: 200, body: { connections: 2 } });
    await waitFor(() => !e1.socket.connected && !e2.socket.connected, 1000, 'both closed');
    expect([...e1.ends, ...e2.ends]).toEqual([
      { reason: 'revoked', retry: false },
      { reason: 'revoked', retry: false },
    ]);
    await waitFor(
      () => bob.presence.some((p) => p.event === 'leave' && p.user.id === eveId && p.room === room),
      1000,
      "Bob's leave notice",
    );
  });

  it('keeps a ban through a kill -9 of the gateway that held the user, and after its restart', async () => {
    const { room, e1, eveId } = await scene();
    expect((await api(`/rooms/${room}/bans/${eveId}`, 'PUT', {})).status).toBe(200);
    await waitFor(() => e1.removed.length === 1, 1000, 'room:removed');
    const [g1] = cluster.gateways;
    stopService(g1, 'SIGKILL');
    await exited(g1.child);
    const other = await connectClient(cluster.gateways[1].url, e1.sessions[0].user.name);
    clients.push(other);
    expect(await other.code('room:join', { room })).toBe('FORBIDDEN');
    restarted = await startService(
      'gateway',
      { ...cluster.env, INSTANCE_ID: cluster.gatewayId(0) },
      g1.port,
    );
    cluster.gateways[0] = restarted;
    const back = await connectClient(restarted.url, e1.sessions[0].user.name);
    clients.push(back);
    expect(await back.code('room:join', { room })).toBe('FORBIDDEN');
  }, 30000);

  it("deletes any member's message as a moderator: every gateway gets the update, history shows it deleted", async () => {
    const { room, e1, e2, bob } = await scene();
    const sent = await bob.ok<{ id: string; seq: number }>('message:send', {
      room,
      text: 'something awful',
    });
    const moderator = { id: 'mod-1', name: 'Moderator' };
    // Not the author: a member's own deletion is refused, a moderator's is not.
    expect(await e1.code('message:delete', { room, id: sent.id })).toBe('FORBIDDEN');
    const res = await json(
      await api(`/rooms/${room}/messages/${sent.id}`, 'DELETE', { user: moderator }),
    );
    expect(res.status).toBe(200);
    const { seq } = res.body as { seq: number };
    expect(seq).toBeGreaterThan(sent.seq);
    await waitFor(
      () => [e1, e2, bob].every((c) => c.updates.some((u) => u.id === sent.id)),
      1000,
      'the deletion on all three gateways',
    );
    expect(e2.updates.find((u) => u.id === sent.id)).toMatchObject({
      kind: 'delete',
      seq,
      targetSeq: sent.seq,
      user: moderator,
    });
    const { messages } = await e1.ok<{
      messages: { id: string; deleted?: boolean; text?: string }[];
    }>('room:history', { room });
    const gone = messages.find((m) => m.id === sent.id);
    expect(gone?.deleted).toBe(true);
    expect(gone?.text ?? '').toBe('');
    // Deleting it again, or a message that never was: NOT_FOUND; a malformed call: 400.
    const again = await json(
      await api(`/rooms/${room}/messages/${sent.id}`, 'DELETE', { user: moderator }),
    );
    expect(again).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect((await api(`/rooms/${room}/messages/${sent.id}`, 'DELETE', {})).status).toBe(400);
    expect(
      (await api(`/rooms/${room}/messages/${sent.id}`, 'DELETE', { user: moderator }, '')).status,
    ).toBe(401);
  });

  it('answers bad input with INVALID_PAYLOAD and no token with 401', async () => {
    const bad: [string, string, unknown][] = [
      ['/rooms/no.dots/kick', 'POST', { userId: 'u' }],
      ['/rooms/ok/kick', 'POST', { userId: '' }],
      ['/rooms/ok/kick', 'POST', { userId: 'u', extra: 1 }],
      ['/rooms/ok/kick', 'POST', []],
      ['/rooms/ok/bans/u', 'PUT', { durationMs: 0 }],
      ['/rooms/ok/bans/u', 'PUT', { durationMs: 1.5 }],
      ['/rooms/ok/mutes/u', 'PUT', { reason: 'x'.repeat(201) }],
      ['/rooms/ok/bans?limit=0', 'GET', undefined],
    ];
    for (const [path, method, body] of bad) {
      const res = await json(await api(path, method, body));
      expect({ path, ...res }).toMatchObject({
        path,
        status: 400,
        body: { error: { code: 'INVALID_PAYLOAD' } },
      });
    }
    expect((await api('/rooms/ok/kick', 'POST', { userId: 'u' }, '')).status).toBe(401);
    // A body that is not JSON: the contract's error too, not the framework's.
    const notJson = await fetch(`${cluster.api.url}/api/rooms/ok/kick`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: '{"userId": "u"',
    });
    expect(await json(notJson)).toEqual({
      status: 400,
      body: { error: { code: 'INVALID_PAYLOAD', message: 'the body must be JSON' } },
    });
  });
});
