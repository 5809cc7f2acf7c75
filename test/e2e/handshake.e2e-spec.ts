import type { Socket as TcpSocket } from 'node:net';
import {
  connectClient,
  requireNginx,
  requireServices,
  startCluster,
  startNginx,
  stopNginx,
  waitFor,
  type RunningNginx,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import WebSocket from 'ws';
import { signToken, TEST_JWT_SECRET as SECRET } from '../suites/tokens';

const TOO_MANY = 'too many connections from this address';

const token = (sub: string) => signToken(sub);

const outcome = (p: Promise<TestClient>, into: TestClient[]) =>
  p.then(
    (c) => {
      into.push(c);
      return 'connected';
    },
    (err: Error) => err.message,
  );

/**
 * Speaks engine.io v4 over a raw WebSocket: waits for the server's open packet ("0..."), sends the
 * Socket.IO CONNECT with its auth (`40{...}`) and resets the TCP connection in the same tick, so
 * it is gone while the gateway is still verifying the token. Resolves once it is closed. (A reset
 * landed inside the verification more often than a FIN: 16-29 of 30 tries against 10-23.)
 */
function connectAndDrop(baseUrl: string, auth: Record<string, unknown>): Promise<void> {
  const ws = new WebSocket(
    `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`,
  );
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no open packet within 5 s'));
    }, 5000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once('error', () => undefined); // the close that follows settles it
    ws.on('message', (data: WebSocket.RawData) => {
      if (!data.toString().startsWith('0')) return;
      ws.send(`40${JSON.stringify(auth)}`);
      (ws as unknown as { _socket: TcpSocket })._socket.resetAndDestroy();
    });
  });
}

/**
 * The per-address connection cap, as real processes: a handshake cut off mid-way gives its slot
 * back.
 */
describe('connection cap: handshakes dropped mid-way (JWT mode, cap 5)', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'hs-drop',
      gateways: 1,
      gatewayEnv: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET, MAX_CONNECTIONS_PER_IP: '5' },
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  }, 30000);

  it('frees the slot of a client that drops TCP while its token is verified', async () => {
    const url = cluster.gateways[0].url;
    for (let i = 0; i < 30; i++) await connectAndDrop(url, { token: await token(`u-drop${i}`) });

    // Every slot comes back once the gateway has seen the connections close.
    let free = 0;
    await waitFor(
      async () => {
        for (const c of clients.splice(0)) c.close();
        const tries: string[] = [];
        for (let i = 0; i < 5; i++) {
          const auth = { token: await token(`u-ok${i}`) };
          tries.push(await outcome(connectClient(url, undefined, { auth }), clients));
        }
        free = tries.filter((t) => t === 'connected').length;
        return free === 5;
      },
      3000,
      '5 free slots after 30 dropped handshakes',
    ).catch((err: Error) => {
      throw new Error(`${err.message} (${free} of 5 free: ${5 - free} leaked)`);
    });
    const sixth = { token: await token('u-sixth') };
    expect(await outcome(connectClient(url, undefined, { auth: sixth }), clients)).toBe(TOO_MANY);
  }, 30000);
});

/**
 * Behind the shipped nginx, the address counted is the one nginx saw: whatever X-Forwarded-For a
 * client writes, nginx appends its real address and the gateway takes that last entry.
 */
describe('connection cap behind nginx (TRUST_PROXY=true, cap 3)', () => {
  let cluster: TestCluster;
  let nginx: RunningNginx | undefined;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    requireNginx();
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'hs-proxy',
      gateways: 1,
      gatewayEnv: { TRUST_PROXY: 'true', MAX_CONNECTIONS_PER_IP: '3' },
    });
    nginx = await startNginx({
      gateways: [`127.0.0.1:${cluster.gateways[0].port}`],
      api: `127.0.0.1:${cluster.api.port}`,
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    if (nginx) await stopNginx(nginx, { removePrefix: true });
    await cluster?.stop();
  }, 30000);

  it('counts the address nginx saw, whatever X-Forwarded-For the client sends', async () => {
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      const headers = { 'x-forwarded-for': `203.0.113.${i + 1}` };
      results.push(await outcome(connectClient(nginx!.url, `Spoof${i}`, { headers }), clients));
    }
    expect(results).toEqual(['connected', 'connected', 'connected', TOO_MANY, TOO_MANY]);
  });
});
