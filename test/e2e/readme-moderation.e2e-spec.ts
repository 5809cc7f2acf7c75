import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import {
  connectClient,
  requireServices,
  startCluster,
  waitFor,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import { ROOT, snippets } from '../repo/readme-snippets';

/** The README's "Moderation and room rules": its start line, its token line, its curl lines. */
function readmeWalkthrough() {
  const text = snippets().map((s) => s.code);
  const start = text.find((c) => /\bnpm start\b/.test(c) && /ROOM_RULES=/.test(c));
  const calls = text.find((c) => c.startsWith('api()'));
  if (!start || !calls) throw new Error('README: the moderation walkthrough is missing');
  // Every NAME=value of the start block (the export line and the command's own).
  const env = Object.fromEntries(
    [...start.matchAll(/\b([A-Z_]+)=(\S+)/g)].map(([, k, v]) => [k, v] as const),
  );
  const [fn, ...lines] = calls.trim().split('\n');
  return { env, fn, lines };
}

/**
 * Issue 31's "done when", as a new user would try it: a cluster started with the README's
 * settings (JWT sign-in, API token, the example room rules), Ann on two gateways, and the
 * README's curl lines run by bash one at a time, each checked for what Ann and Bob see.
 */
describe("README's moderation walkthrough, run as written against a real cluster", () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  const { env, fn, lines } = readmeWalkthrough();

  /** A token from the README's own command (`npm run token -- ...`), via its script. */
  const token = (sub: string, name: string) => {
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, 'scripts/token.js'), '--sub', sub, '--name', name],
      { env: { ...process.env, JWT_SECRET: env.JWT_SECRET }, encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`token: ${r.stderr}`);
    return r.stdout.trim();
  };
  const connect = async (jwt: string, gateway: number) => {
    const c = await connectClient(cluster.gateways[gateway].url, undefined, {
      auth: { token: jwt },
    });
    clients.push(c);
    return c;
  };
  /** One README line, run by bash after the README's `api` function, against this cluster. */
  const run = (line: string) => {
    const script = `${fn.replace('http://127.0.0.1:3000', cluster.api.url)}\n${line}`;
    const r = spawnSync('bash', ['-c', script], {
      env: { ...process.env, API_TOKEN: env.API_TOKEN },
      encoding: 'utf8',
    });
    expect({ line, code: r.status, stderr: r.stderr }).toEqual({ line, code: 0, stderr: '' });
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const line = (what: RegExp) => {
    const found = lines.find((l) => what.test(l));
    if (!found) throw new Error(`README: no curl line matching ${what}`);
    return found;
  };

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    expect(env).toMatchObject({ AUTH_MODE: 'jwt', ROOM_RULES: expect.any(String) });
    cluster = await startCluster({
      label: 'readme-mod',
      gateways: 2,
      env: { ROOM_RULES: path.join(ROOT, env.ROOM_RULES) },
      gatewayEnv: { AUTH_MODE: env.AUTH_MODE, JWT_SECRET: env.JWT_SECRET },
      apiEnv: { API_TOKEN: env.API_TOKEN },
    });
  }, 60000);

  afterAll(async () => {
    await cluster?.closeClients(clients);
    await cluster?.stop();
  });

  it('kicks Ann, bans her for 10 s, lets her back, disconnects her, refuses her revoked token; announce- rooms take only the API', async () => {
    const annToken = token('ann', 'Ann');
    const a1 = await connect(annToken, 0);
    const a2 = await connect(annToken, 1);
    const bob = await connect(token('bob', 'Bob'), 1);
    for (const c of [a1, a2, bob]) await c.ok('room:join', { room: 'general' });

    expect(run(line(/\/kick /))).toEqual({ room: 'general', userId: 'ann', connections: 2 });
    await waitFor(() => a1.removed.length + a2.removed.length === 2, 1000, 'both kicked');

    expect(run(line(/\/bans\//))).toMatchObject({ room: 'general', userId: 'ann' });
    const bannedAt = Date.now();
    expect(await a1.code('room:join', { room: 'general' })).toBe('FORBIDDEN');
    expect(await a2.code('room:join', { room: 'general' })).toBe('FORBIDDEN');
    await waitFor(
      async () => (await a1.code('room:join', { room: 'general' })) === 'ok',
      12000,
      'the 10 s ban to end',
    );
    expect(Date.now() - bannedAt).toBeGreaterThanOrEqual(9000);
    await a1.ok('message:send', { room: 'general', text: 'back' });
    await waitFor(() => bob.messages.some((m) => m.text === 'back'), 1000, 'Ann heard again');

    expect(run(line(/\/disconnect/))).toEqual({ connections: 2 });
    await waitFor(() => !a1.socket.connected && !a2.socket.connected, 1000, 'both closed');
    expect([...a1.ends, ...a2.ends]).toEqual([
      { reason: 'revoked', retry: false },
      { reason: 'revoked', retry: false },
    ]);

    // The token's iat has second precision: a revoke in the same second as the issue must
    // still cover it, and a token issued after the revoke must work.
    expect(run(line(/\/revoke/))).toMatchObject({ userId: 'ann' });
    await expect(connect(annToken, 0)).rejects.toThrow(/unauthorized/);
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await connect(token('ann', 'Ann'), 1);
    expect(await fresh.code('room:join', { room: 'general' })).toBe('ok');

    await bob.ok('room:join', { room: 'announce-news' });
    expect(await bob.code('message:send', { room: 'announce-news', text: 'me too' })).toBe(
      'FORBIDDEN',
    );
    expect(run(line(/\/announce-/))).toMatchObject({ seq: expect.any(Number) });
    await waitFor(
      () => bob.messages.some((m) => m.room === 'announce-news' && m.text === 'v2 is out'),
      1000,
      'the announcement',
    );
  }, 40000);
});
