import type { Message, SendResult } from '@roomcast/contracts';
import {
  connectClient,
  requireServices,
  startCluster,
  startService,
  stopService,
  exited,
  waitFor,
  type AnyAck,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

const TOKEN = 'publish-api-token-0123456789';

/**
 * The server publish API on the stats service (PROTOCOL.md, "Server API and webhooks"): an
 * application backend posts into a room that socket clients on three gateways are in.
 */
describe('server publish API (stats, 3 gateways)', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({ label: 'pub', gateways: 3, apiEnv: { API_TOKEN: TOKEN } });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  }, 30000);

  const post = (room: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${cluster.api.url}/api/rooms/${room}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
      body: JSON.stringify(body),
    });
  const user = { id: 'backend-bot', name: 'Bot' };

  it('refuses a call without the token, and bad bodies or rooms with INVALID_PAYLOAD', async () => {
    const body = { text: 'hi', user };
    expect((await post('r', body, { authorization: '' })).status).toBe(401);
    expect(
      (await post('r', body, { authorization: 'Bearer wrong-token-wrong-token' })).status,
    ).toBe(401);
    for (const [room, bad] of [
      ['r', { text: '   ', user }],
      ['r', { text: 'x' }],
      ['r', { text: 'x', user: { id: 'u' } }],
      ['r', { text: 'x', user, clientId: null }],
      ['r', { text: 'x', user, extra: 1 }],
      ['r', { text: 'x \uD800', user }],
      ['a.b', { text: 'x', user }],
      ['%2A', { text: 'x', user }],
    ] as const) {
      const res = await post(room, bad);
      const answer = (await res.json()) as { error?: { code: string } };
      expect([room, JSON.stringify(bad), res.status, answer.error?.code]).toEqual([
        room,
        JSON.stringify(bad),
        400,
        'INVALID_PAYLOAD',
      ]);
    }
  });

  it('delivers a published message to members on every gateway in seq order with socket sends', async () => {
    const room = `pub-${Math.random().toString(36).slice(2, 8)}`;
    for (const gw of cluster.gateways) clients.push(await connectClient(gw.url, `m-${gw.port}`));
    const members = clients.slice(-3);
    for (const c of members) expect((await c.ack<AnyAck>('room:join', { room })).ok).toBe(true);
    const acks: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        if (i % 2 === 0) {
          const res = await post(room, { text: `api ${i}`, user });
          expect(res.status).toBe(201);
          const ack = (await res.json()) as SendResult;
          expect(ack).toEqual({
            id: expect.any(String),
            seq: expect.any(Number),
            ts: expect.any(Number),
          });
          acks.push(ack.seq);
        } else {
          const ack = await members[i % 3].ack<SendResult & { ok: boolean }>('message:send', {
            room,
            text: `socket ${i}`,
          });
          acks.push(ack.seq);
        }
      }),
    );
    await waitFor(() =>
      members.every((c) => c.messages.filter((m) => m.room === room).length === 20),
    );
    const seqs = (c: TestClient) => c.messages.filter((m) => m.room === room).map((m) => m.seq);
    for (const c of members) expect(seqs(c)).toEqual([...acks].sort((a, b) => a - b));
    const fromApi = members[0].messages.find((m: Message) => m.text === 'api 0');
    expect(fromApi).toMatchObject({ user, room, serverId: expect.any(String) });
    // History has it too, for a member joining later.
    const late = await connectClient(cluster.gateways[1].url, 'late');
    clients.push(late);
    const joined = await late.ack<{ history: Message[] }>('room:join', { room });
    expect(joined.history.filter((m) => m.text.startsWith('api '))).toHaveLength(10);
  });

  it('treats Idempotency-Key as clientId: a retry gets the first ack and is delivered once', async () => {
    const room = `idem-${Math.random().toString(36).slice(2, 8)}`;
    const member = await connectClient(cluster.gateways[2].url, 'idem-member');
    clients.push(member);
    await member.ack('room:join', { room });
    const first = (await (
      await post(room, { text: 'once', user }, { 'idempotency-key': 'k-1' })
    ).json()) as SendResult;
    // The same body again (the text is trimmed, as a send's is): the first answer.
    const again = await post(room, { text: ' once ', user }, { 'idempotency-key': 'k-1' });
    expect(again.status).toBe(201);
    expect(await again.json()).toEqual(first);
    await waitFor(() => member.messages.length >= 1);
    await new Promise((done) => setTimeout(done, 300));
    expect(member.messages.map((m) => m.text)).toEqual(['once']);
  });

  it('answers 422 INVALID_PAYLOAD for an Idempotency-Key reused with another body, and stores nothing', async () => {
    const room = `idem422-${Math.random().toString(36).slice(2, 8)}`;
    const member = await connectClient(cluster.gateways[0].url, 'idem422-member');
    clients.push(member);
    await member.ack('room:join', { room });
    const key = { 'idempotency-key': 'k-422' };
    const first = await post(room, { text: 'first text', user }, key);
    expect(first.status).toBe(201);
    const ack = (await first.json()) as SendResult;
    for (const body of [
      { text: 'another text', user },
      { text: 'first text', user: { ...user, name: 'Other name' } },
    ]) {
      const res = await post(room, body, key);
      expect([JSON.stringify(body), res.status, await res.json()]).toEqual([
        JSON.stringify(body),
        422,
        {
          error: {
            code: 'INVALID_PAYLOAD',
            message: expect.stringMatching(/Idempotency-Key .*k-422.* another body/),
          },
        },
      ]);
    }
    // Still the first send's key: the same body is a retry, whatever came in between.
    const retry = await post(room, { text: 'first text', user }, key);
    expect([retry.status, await retry.json()]).toEqual([201, ack]);
    // Another user's key of the same name is another message (keys are per user).
    const other = await post(room, { text: 'another text', user: { id: 'u2', name: 'U2' } }, key);
    expect(other.status).toBe(201);
    await waitFor(() => member.messages.filter((m) => m.room === room).length >= 2);
    await new Promise((done) => setTimeout(done, 300));
    expect(member.messages.filter((m) => m.room === room).map((m) => m.text)).toEqual([
      'first text',
      'another text',
    ]);
  });

  it('answers a socket send that reuses a clientId with another text INVALID_PAYLOAD, a retry with the first ack', async () => {
    const room = `cid-${Math.random().toString(36).slice(2, 8)}`;
    const ann = await connectClient(cluster.gateways[1].url, 'cid-ann');
    clients.push(ann);
    expect((await ann.ack<AnyAck>('room:join', { room })).ok).toBe(true);
    const first = await ann.ack<AnyAck>('message:send', { room, text: 'hello', clientId: 'c-x' });
    expect(first).toMatchObject({ ok: true, seq: expect.any(Number) });
    const other = await ann.ack<AnyAck>('message:send', { room, text: 'bye', clientId: 'c-x' });
    expect(other).toEqual({
      ok: false,
      error: { code: 'INVALID_PAYLOAD', message: expect.stringMatching(/clientId/) },
    });
    expect(await ann.ack<AnyAck>('message:send', { room, text: 'hello', clientId: 'c-x' })).toEqual(
      first,
    );
    await new Promise((done) => setTimeout(done, 300));
    expect(ann.messages.filter((m) => m.room === room).map((m) => m.text)).toEqual(['hello']);
  });

  it("describes the API with OpenAPI at /api/docs (the api service's one document)", async () => {
    const spec = (await (await fetch(`${cluster.api.url}/api/docs-json`)).json()) as {
      openapi: string;
      paths: Record<string, { post?: { responses: Record<string, unknown> } }>;
    };
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toContain('/api/rooms/{room}/messages');
    expect(Object.keys(spec.paths)).toContain('/stats');
    expect(Object.keys(spec.paths['/api/rooms/{room}/messages'].post!.responses).sort()).toEqual([
      '201',
      '400',
      '401',
      '422',
      '429',
      '503',
    ]);
    const page = await fetch(`${cluster.api.url}/api/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger');
  });

  it('has no route when API_TOKEN is unset', async () => {
    const env = Object.fromEntries(Object.entries(cluster.env).filter(([k]) => k !== 'API_TOKEN'));
    const stats = await startService('api', env);
    try {
      const res = await fetch(`${stats.url}/api/rooms/r/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ text: 'x', user }),
      });
      expect(res.status).toBe(404);
      // The document is still served, without the server API.
      const doc = await fetch(`${stats.url}/api/docs-json`);
      expect(doc.status).toBe(200);
      const paths = Object.keys(((await doc.json()) as { paths: object }).paths);
      expect([paths.includes('/stats'), paths.filter((p) => p.startsWith('/api/'))]).toEqual([
        true,
        [],
      ]);
    } finally {
      stopService(stats, 'SIGKILL');
      await exited(stats.child);
    }
    // A service of its own to start: seconds under load, more than jest's default 5 s.
  }, 30000);
});
