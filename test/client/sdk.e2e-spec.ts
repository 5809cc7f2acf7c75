import {
  createClient,
  type Client,
  type ClientOptions,
  type ResetNotice,
  type Room,
} from '@roomcast/client';
import {
  requireServices,
  startCluster,
  startTcpProxy,
  waitFor,
  type TcpProxy,
  type TestCluster,
} from '@roomcast/testing';
import { signToken, TEST_JWT_SECRET as SECRET } from '../suites/tokens';

/** The least history a room keeps (HISTORY_MAX's floor). */
const HISTORY_MAX = 50;

const token = (sub: string, seconds: number, secret = SECRET) =>
  signToken(sub, seconds, {}, secret);

const texts = (room: Room) => room.messages.map((m) => m.text);

/** The SDK against one real gateway (JWT mode), a TCP proxy in front of it for the cuts. */
describe('@roomcast/client against a real gateway', () => {
  let cluster: TestCluster;
  let proxy: TcpProxy;
  const clients: Client[] = [];

  const connect = (sub: string, options: Partial<ClientOptions> = {}, seconds = 3600) => {
    const client = createClient({
      url: cluster.gateways[0].url,
      auth: { getToken: () => token(sub, seconds) },
      socket: { transports: ['websocket'] },
      backoff: { baseMs: 100, capMs: 1000 },
      ...options,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'sdk',
      gateways: 1,
      env: { HISTORY_MAX: String(HISTORY_MAX) },
      gatewayEnv: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET },
    });
    proxy = await startTcpProxy(cluster.gateways[0].port);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await proxy?.close();
    await cluster?.stop();
  }, 30_000);

  it("learns its user and the gateway's limits from the session", async () => {
    const client = connect('u-sdk-me');
    const sessions: unknown[] = [];
    client.on('session', (s) => sessions.push(s));
    await expect(client.me).resolves.toEqual({ id: 'u-sdk-me', name: 'u-sdk-me' });
    await waitFor(() => sessions.length === 1, 5000, 'the session event');
    expect(sessions[0]).toMatchObject({
      serverId: cluster.gatewayId(0),
      limits: { sendsPerSec: 20, sendBurst: 40, eventsPerSec: 50, eventsBurst: 100 },
      expiresAt: expect.any(Number),
    });
  });

  it('stops on a handshake refused as unauthorized', async () => {
    const client = connect('u-sdk-bad', {
      auth: { getToken: () => token('u-sdk-bad', 3600, 'another-secret-of-at-least-32-bytes!!') },
    });
    const ends: unknown[] = [];
    client.on('end', (e) => ends.push(e));
    await waitFor(() => client.state === 'refused', 5000, 'refused');
    expect(ends).toEqual([{ reason: 'unauthorized', retry: false }]);
  });

  it('keeps a 3 s token alive in-band: no session end, no reconnect, sends go on past its exp', async () => {
    const client = connect('u-sdk-short', {}, 3);
    const states: string[] = [];
    const ends: unknown[] = [];
    client.on('state', (s) => states.push(s));
    client.on('end', (e) => ends.push(e));
    const room = client.room('sdk-refresh');
    await waitFor(() => room.status === 'joined', 5000, 'joined');
    for (let i = 0; i < 6; i++) {
      await room.send(`tick ${i}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(ends).toEqual([]);
    // One connection throughout: it never went back to reconnecting.
    expect(states).toEqual(['live']);
    expect(client.state).toBe('live');
    await waitFor(() => room.messages.length === 6, 5000, 'six messages');
    expect(texts(room)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `tick ${i}`));
  }, 20_000);

  it('names in a reset the seq after which retention dropped what it missed, and shows each message once', async () => {
    const reader = connect('u-sdk-reader', { url: `http://127.0.0.1:${proxy.port}` });
    const writer = connect('u-sdk-writer');
    const inbox = reader.room('sdk-retention');
    const outbox = writer.room('sdk-retention');
    const resets: ResetNotice[] = [];
    const announced: number[] = [];
    inbox.on('reset', (r) => resets.push(r));
    inbox.on('message', (m) => announced.push(m.seq));
    await waitFor(() => inbox.status === 'joined' && outbox.status === 'joined', 5000, 'joined');
    for (let i = 0; i < 3; i++) await outbox.send(`seen ${i}`);
    await waitFor(() => inbox.messages.length === 3, 5000, 'three messages');
    const held = inbox.messages[2].seq;

    proxy.cut();
    await waitFor(() => reader.state === 'reconnecting', 5000, 'the reader cut off');
    for (let i = 0; i < HISTORY_MAX + 10; i++) await outbox.send(`missed ${i}`);
    proxy.restore();

    await waitFor(() => texts(inbox).at(-1) === `missed ${HISTORY_MAX + 9}`, 15_000, 'caught up');
    // Retention kept the last HISTORY_MAX messages: the first 10 the reader missed are gone.
    const kept = outbox.messages.slice(-HISTORY_MAX);
    expect(resets).toEqual([
      { room: 'sdk-retention', afterSeq: held, reason: 'retention', resumeSeq: kept[0].seq },
    ]);
    expect(texts(inbox)).toEqual(['seen 0', 'seen 1', 'seen 2', ...kept.map((m) => m.text)]);
    expect(announced).toEqual(inbox.messages.map((m) => m.seq));
  }, 40_000);
});
