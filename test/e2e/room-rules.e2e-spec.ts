import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectClient,
  requireServices,
  runToExit,
  startCluster,
  waitFor,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import { signToken, TEST_JWT_SECRET } from '../suites/tokens';

const API_TOKEN = 'api-token-for-the-room-rules-tests';

/** The deployment's rules (YAML: the loader reads either), one per behaviour under test. */
const RULES_YAML = `
rules:
  announce-: { publish: server }
  quiet-: { presence: false, typing: false }
  small-: { maxMembers: 2 }
  short-: { historyMax: 50 }
  club-: { requiresClaim: true }
  club-open-: {}
`;

/**
 * Room rules by name prefix (PROTOCOL.md, "Server API and webhooks" → Room rules), with every
 * service reading one ROOM_RULES file, over 2 gateways in JWT mode: what a member of each kind
 * of room sees, and a broken file stopping every service at start with a line that names the
 * file, the rule and the field.
 */
describe('room rules: rooms configured by name prefix (ROOM_RULES, 2 gateways)', () => {
  let cluster: TestCluster;
  let dir: string;
  let rulesFile: string;
  const clients: TestClient[] = [];
  let n = 0;

  const connect = async (user: string, gateway = 0, rooms: string[] = []) => {
    const token = await signToken(user, 600, rooms.length ? { rooms } : {});
    const c = await connectClient(cluster.gateways[gateway].url, undefined, { auth: { token } });
    clients.push(c);
    return c;
  };
  const api = (path: string, method: string, body?: unknown) =>
    fetch(`${cluster.api.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const room = (prefix: string) => `${prefix}${++n}-${Date.now() % 100000}`;

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    dir = mkdtempSync(join(tmpdir(), 'roomcast-rules-'));
    rulesFile = join(dir, 'rules.yaml');
    writeFileSync(rulesFile, RULES_YAML);
    cluster = await startCluster({
      label: 'rules',
      gateways: 2,
      env: { ROOM_RULES: rulesFile },
      gatewayEnv: { AUTH_MODE: 'jwt', JWT_SECRET: TEST_JWT_SECRET },
      apiEnv: { API_TOKEN },
    });
  }, 60000);

  afterEach(() => cluster.closeClients(clients));
  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("an announcement room refuses members' sends and delivers the server API's to every gateway", async () => {
    const r = room('announce-');
    const a = await connect('ann-a', 0);
    const b = await connect('ann-b', 1);
    await a.ok('room:join', { room: r });
    await b.ok('room:join', { room: r });
    expect(await a.code('message:send', { room: r, text: 'may I?' })).toBe('FORBIDDEN');
    const res = await api(`/api/rooms/${r}/messages`, 'POST', {
      text: 'maintenance at noon',
      user: { id: 'ops', name: 'Ops' },
    });
    expect(res.status).toBe(201);
    await waitFor(
      () => a.messages.length === 1 && b.messages.length === 1,
      2000,
      'the announcement on both gateways',
    );
    expect(b.messages[0]).toMatchObject({ room: r, text: 'maintenance at noon' });
    // Reactions to an announcement stay open to members.
    const { id } = a.messages[0];
    expect(await b.code('message:react', { room: r, id, emoji: '👍', on: true })).toBe('ok');
    // A room the rule does not match behaves as before.
    const plain = room('announcements');
    await a.ok('room:join', { room: plain });
    expect(await a.code('message:send', { room: plain, text: 'hello' })).toBe('ok');
  });

  it('presence: false gives empty member lists and no presence notices; typing: false refuses typing', async () => {
    const r = room('quiet-');
    const a = await connect('quiet-a', 0);
    const joinA = await a.ok<{ members: unknown[]; memberCount: number }>('room:join', {
      room: r,
    });
    expect(joinA).toMatchObject({ members: [], memberCount: 0 });
    const b = await connect('quiet-b', 1);
    const typing: unknown[] = [];
    a.socket.on('typing', (t: unknown) => typing.push(t));
    const joinB = await b.ok<{ members: unknown[] }>('room:join', { room: r });
    expect(joinB.members).toEqual([]);
    expect(await a.ok('room:members', { room: r })).toMatchObject({ members: [] });
    expect(await b.code('typing', { room: r, typing: true })).toBe('FORBIDDEN');
    // Messages still flow; a message sent after the join is a marker that the join's notice
    // (had there been one) was delivered before it: one room, one order.
    await b.ok('message:send', { room: r, text: 'marker' });
    await waitFor(() => a.messages.length === 1, 2000, 'the marker');
    await b.ok('room:leave', { room: r });
    await b.ok('room:join', { room: r });
    await b.ok('message:send', { room: r, text: 'marker 2' });
    await waitFor(() => a.messages.length === 2, 2000, 'the second marker');
    expect(a.presence).toEqual([]);
    expect(typing).toEqual([]);
    // The Stats API (an operator's view) shows the room's effective rule.
    const stats = await fetch(`${cluster.api.url}/stats/rooms/${r}`);
    expect(await stats.json()).toMatchObject({
      room: r,
      users: 2,
      rule: { prefix: 'quiet-', presence: false, typing: false, publish: 'members' },
    });
  });

  it('maxMembers refuses the next member with FORBIDDEN, not a member coming back on another connection', async () => {
    const r = room('small-');
    const a = await connect('small-a', 0);
    const b = await connect('small-b', 1);
    const c = await connect('small-c', 0);
    await a.ok('room:join', { room: r });
    await b.ok('room:join', { room: r });
    expect(await c.code('room:join', { room: r })).toBe('FORBIDDEN');
    // The same user again, elsewhere: no new member.
    const a2 = await connect('small-a', 1);
    expect(await a2.code('room:join', { room: r })).toBe('ok');
    // A place frees up when a member leaves.
    await b.ok('room:leave', { room: r });
    expect(await c.code('room:join', { room: r })).toBe('ok');
  });

  it("keeps a room's history as its rule says (50 here, the service's 1000 elsewhere)", async () => {
    const short = room('short-');
    const plain = room('long-');
    for (let i = 1; i <= 55; i++) {
      for (const r of [short, plain]) {
        const res = await api(`/api/rooms/${r}/messages`, 'POST', {
          text: `m${i}`,
          user: { id: 'bot', name: 'Bot' },
        });
        expect(res.status).toBe(201);
      }
    }
    const a = await connect('hist-a', 1);
    const page = (r: string) =>
      a.ok<{ messages: { text: string }[] }>('room:history', { room: r, limit: 100 });
    const kept = (await page(short)).messages;
    expect(kept).toHaveLength(50);
    expect(kept[0].text).toBe('m6');
    expect((await page(plain)).messages).toHaveLength(55);
    const stats = await fetch(`${cluster.api.url}/stats/rooms/${plain}`);
    expect(((await stats.json()) as { rule: unknown }).rule).toMatchObject({
      prefix: null,
      historyMax: 1000,
    });
  });

  it('requiresClaim: joining needs the rooms claim, as private- rooms do; a longer prefix can open it again', async () => {
    const r = room('club-');
    const outsider = await connect('club-out', 0);
    expect(await outsider.code('room:join', { room: r })).toBe('FORBIDDEN');
    expect(await outsider.code('room:history', { room: r })).toBe('FORBIDDEN');
    const member = await connect('club-in', 1, [r]);
    expect(await member.code('room:join', { room: r })).toBe('ok');
    expect(await outsider.code('room:join', { room: room('club-open-') })).toBe('ok');
    // The Stats API shows such a room only to token holders, like a private one: not by name,
    // nor in the busiest rooms or the routing map, while an open room with a member is there.
    expect((await fetch(`${cluster.api.url}/stats/rooms/${r}`)).status).toBe(404);
    const open = room('open-');
    await outsider.ok('room:join', { room: open });
    const listed = async (path: string) =>
      (
        (await (await fetch(`${cluster.api.url}${path}`)).json()) as { rooms: { room: string }[] }
      ).rooms.map((x) => x.room);
    for (const path of ['/stats/rooms?limit=100', '/stats/routing?limit=500']) {
      const rooms = await listed(path);
      expect({ path, open: rooms.includes(open), club: rooms.includes(r) }).toEqual({
        path,
        open: true,
        club: false,
      });
    }
  });

  it('a broken rules file stops every service at start, naming the file, the rule and the field', async () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(
      broken,
      JSON.stringify({ rules: { 'lobby-': { maxMembers: 0 }, 'bad.prefix': {} } }),
    );
    const env = { ...cluster.env, PORT: '0', ROOM_RULES: broken, API_TOKEN };
    for (const app of ['gateway', 'presence', 'api'] as const) {
      const run = await runToExit(app, { ...env, INSTANCE_ID: `rules-broken-${app}` });
      expect({ app, code: run.code }).toEqual({ app, code: 1 });
      expect(run.output).toContain(
        `ROOM_RULES ${broken}: rule "lobby-": maxMembers must be an integer from 1 to 1000000 (not 0)`,
      );
      expect(run.output).toContain(`ROOM_RULES ${broken}: rule "bad.prefix": the prefix must be`);
      expect(run.output).not.toMatch(/\n\s+at /); // one line per mistake, no stack
    }
  }, 60000);
});
