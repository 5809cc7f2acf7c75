import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  connectClient,
  exited,
  startBrowserCluster,
  startService,
  startWebhookReceiver,
  stopService,
  waitFor,
  type AnyAck,
  type BrowserCluster,
  type TestClient,
  type TestCluster,
  type WebhookReceiver,
} from '@roomcast/testing';
import type { Browser, Locator, Page } from 'playwright-core';

const ROOT = path.resolve(__dirname, '../..');
const OUTPUT = path.join(ROOT, 'test-output');
const TOKEN = 'admin-page-token-0123456789';
const API_TOKEN = 'admin-page-api-token-0123456789';
/** A Standard Webhooks secret: whsec_ and the base64 of a 32-byte key. */
const WEBHOOK_SECRET = `whsec_${Buffer.from('admin-page-webhook-secret-012345').toString('base64')}`;
/** The api's ROOM_RULES. */
const RULES = {
  rules: {
    'announce-': { publish: 'server', presence: false, typing: false },
    'support-': { maxMembers: 2, historyMax: 200 },
  },
};

/** How high an SVG path reaches in a chart `height` tall (y down), as a share of it: 0 is flat. */
function peak(d: string, height: number): number {
  const ys = [...d.matchAll(/[ML]-?[\d.]+ (-?[\d.]+)/g)].map((m) => Number(m[1]));
  return ys.length === 0 ? 0 : (height - Math.min(...ys)) / height;
}

/**
 * The operations page (/admin on stats) in headless chromium, signed in with STATS_TOKEN as the
 * Basic password, against two gateways: a room appears with both gateways bound to it after two
 * clients join it, one on each; delivery rates show while they chat, and the trend charts move;
 * a webhook receiver that is down shows its backlog, which drains when it is back (and a page of
 * an api without WEBHOOK_URL says there is none); the counts drop after they leave; bans and mutes given through the server API show until they end or are lifted; the
 * room rules of the api's ROOM_RULES, and a room's rule looked up by name. The page is never
 * reloaded.
 */
describe('operations page in chromium (/admin, 2 gateways)', () => {
  let bc: BrowserCluster | undefined;
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  let receiver: WebhookReceiver;
  const errors: string[] = [];
  const clients: TestClient[] = [];
  const room = `ops-${Math.random().toString(36).slice(2, 8)}`;
  const rulesDir = mkdtempSync(path.join(tmpdir(), 'roomcast-admin-rules-'));

  beforeAll(async () => {
    const rulesFile = path.join(rulesDir, 'rules.json');
    writeFileSync(rulesFile, JSON.stringify(RULES));
    // Down from the start: the events of the tests wait on the broker for it.
    receiver = await startWebhookReceiver({ secret: WEBHOOK_SECRET });
    receiver.setDown(true);
    // The api serves the page itself: no nginx in front. It reads WEBHOOK_URL, as presence does,
    // to know the receivers' queues.
    bc = await startBrowserCluster({
      label: 'admin',
      gateways: 2,
      env: { WEBHOOK_MESSAGES: 'true' },
      presenceEnv: {
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET,
        WEBHOOK_RETRY_MS: '100',
        WEBHOOK_MAX_RETRY_MS: '500',
        WEBHOOK_PARK_MS: '500',
        // Few in flight: what the receiver has not taken waits in its queues, where it is counted.
        WEBHOOK_PREFETCH: '2',
        WEBHOOK_MAX_ATTEMPTS: '1000',
      },
      apiEnv: { STATS_TOKEN: TOKEN, API_TOKEN, ROOM_RULES: rulesFile, WEBHOOK_URL: receiver.url },
      nginx: false,
    });
    ({ cluster, browser } = bc);
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    try {
      await bc?.stop();
    } finally {
      await receiver?.close();
      rmSync(rulesDir, { recursive: true, force: true });
    }
  }, 30000);

  /** The server API (API_TOKEN), as an application backend calls it. */
  const api = (route: string, method: string, body?: unknown) =>
    fetch(`${cluster.api.url}/api${route}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  /** A route of the page's own, with the token as a Bearer. */
  const admin = async (route: string) => {
    const res = await fetch(`${cluster.api.url}/admin${route}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /** The text of a table's body rows, cells joined by ' | ', as the user reads them. */
  const rows = async (table: string) =>
    page
      .locator(`#${table} tbody tr`)
      .evaluateAll((trs) =>
        trs.map((tr) =>
          [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim()).join(' | '),
        ),
      );
  const row = async (table: string, first: string) =>
    (await rows(table)).find((r) => r.split(' | ')[0] === first);

  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 8000) {
    await waitFor(check, timeoutMs, what).catch(async (err: Error) => {
      const seen = {
        instances: await rows('instances'),
        rooms: await rows('top-rooms'),
        routing: await rows('routing'),
        bans: await rows('bans'),
        mutes: await rows('mutes'),
        rules: await rows('rules'),
        webhooks: await rows('webhooks'),
        trends: await trendsShown(),
        rule: await rows('rule'),
        ruleSource: await text(page.locator('#rule-source')),
        status: await text(page.locator('#status')),
      };
      throw new Error(`${err.message}; page shows ${JSON.stringify(seen)}`, { cause: err });
    });
  }
  const text = async (l: Locator) => ((await l.textContent()) ?? '').trim();
  /** A trend chart as the user sees it: the latest value, the top of its scale, its line. */
  const trend = async (name: string) => {
    const fig = page.locator(`#trend-${name}`);
    const line = (await fig.locator('path.line').getAttribute('d')) ?? '';
    return {
      now: await text(fig.locator('.now')),
      top: await text(fig.locator('.top')),
      line,
      /** How high the line reaches, as a share of the chart's height (0: flat at zero). */
      peak: peak(line, 64),
    };
  };
  const trendsShown = async () =>
    page
      ? Object.fromEntries(
          await Promise.all(
            ['accepted', 'deliveries', 'connections'].map(
              async (n) => [n, await trend(n)] as const,
            ),
          ),
        )
      : {};

  it('asks for the token: 401 with a Basic challenge, also for the state', async () => {
    for (const route of ['/admin', '/admin/state']) {
      const res = await fetch(`${cluster.api.url}${route}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="roomcast admin"/);
      const wrong = `Basic ${Buffer.from('admin:wrong').toString('base64')}`;
      expect(
        (await fetch(`${cluster.api.url}${route}`, { headers: { authorization: wrong } })).status,
      ).toBe(401);
    }
    // A browser that knows no password cannot answer the challenge; a wrong one gets 401.
    const anonymous = await browser.newContext();
    await expect((await anonymous.newPage()).goto(`${cluster.api.url}/admin`)).rejects.toThrow(
      /ERR_INVALID_AUTH_CREDENTIALS/,
    );
    await anonymous.close();
    const wrong = await browser.newContext({
      httpCredentials: { username: 'admin', password: 'not-the-token' },
    });
    const tab = await wrong.newPage();
    expect((await tab.goto(`${cluster.api.url}/admin`))?.status()).toBe(401);
    expect(await tab.locator('#instances').count()).toBe(0);
    await wrong.close();
  });

  it('shows the gateways live, then a room with both gateways bound after two clients join', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: TOKEN },
    });
    page = await context.newPage();
    page.setDefaultTimeout(10000);
    page.on('pageerror', (err) => errors.push(err.message));
    const res = await page.goto(`${cluster.api.url}/admin`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['cache-control']).toBe('no-store');
    const [g1, g2] = [cluster.gatewayId(0), cluster.gatewayId(1)];
    await until('both gateways listed, page live', async () => {
      const live = (await page.locator('#status').getAttribute('class')) === 'live';
      return (
        live &&
        (await row('instances', g1)) !== undefined &&
        (await row('instances', g2)) !== undefined
      );
    });
    expect(await row('top-rooms', room)).toBeUndefined();

    clients.push(await connectClient(cluster.gateways[0].url, 'Ann'));
    clients.push(await connectClient(cluster.gateways[1].url, 'Bob'));
    for (const c of clients) expect((await c.ack<AnyAck>('room:join', { room })).ok).toBe(true);

    // No reload: the page's own polling brings the room in.
    await until('the room with 2 users and both gateways', async () => {
      const r = await row('top-rooms', room);
      return r === `${room} | 2 | 2 | ${[g1, g2].sort().join(', ')}`;
    });
    await until('the routing map binds room.<room> to both gateways', async () => {
      return (
        (await row('routing', `room.${room}`)) === `room.${room} | ${[g1, g2].sort().join(', ')}`
      );
    });
    await until('one connection and one room on each gateway', async () => {
      const cells = await Promise.all([g1, g2].map((g) => row('instances', g)));
      return cells.every((r) => r?.split(' | ').slice(1, 3).join(',') === '1,1');
    });
    expect(await text(page.locator('#online'))).toBe('2');
    expect(await text(page.locator('#connections'))).toBe('2');
    expect(errors).toEqual([]);
  });

  it('shows delivery rates while the room chats', async () => {
    const [g1, g2] = [cluster.gatewayId(0), cluster.gatewayId(1)];
    let sending = true;
    const chat = (async () => {
      for (let i = 0; sending && i < 400; i++) {
        await clients[i % 2].ack('message:send', { room, text: `m${i}` });
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    try {
      // Columns: instance | connections | rooms | up | last heartbeat | accepted/s | deliveries/s.
      await until(
        'accepted/s and deliveries/s above 0 on both gateways',
        async () => {
          const cells = await Promise.all([g1, g2].map((g) => row('instances', g)));
          return cells.every((r) => {
            const c = r?.split(' | ') ?? [];
            return Number(c[5]) > 0 && Number(c[6]) > 0;
          });
        },
        12000,
      );
      expect(Number(await text(page.locator('#deliveries')))).toBeGreaterThan(0);
      // The charts: accepted/s and deliveries/s above 0 now, their lines off the floor...
      await until(
        'the accepted/s and deliveries/s charts above 0',
        async () => {
          const [a, d] = [await trend('accepted'), await trend('deliveries')];
          return Number(a.now) > 0 && a.peak > 0 && Number(d.now) > 0 && d.peak > 0;
        },
        12000,
      );
      // ... and moving as the samples come, without a reload.
      const before = await trend('accepted');
      await until('the accepted/s chart moved', async () => {
        const now = await trend('accepted');
        return now.line !== before.line && now.peak > 0;
      });
      const connections = await trend('connections');
      // A page opened less than a minute ago: the charts span that minute.
      expect(await text(page.locator('#trend-connections .from'))).toBe('1 min ago');
      expect(connections.now).toBe('2');
      expect(connections.top).toBe('top 2');
      expect(connections.peak).toBe(1);
      // The receiver is down: the message.created events of the chat wait for it.
      await until('the webhook backlog above 0 and its line off the floor', async () => {
        const r = (await row('webhooks', receiver.url))?.split(' | ');
        const line = await page.locator('#webhooks tbody svg path.line').getAttribute('d');
        return r !== undefined && Number(r[1]) > 0 && peak(line ?? '', 24) > 0;
      });
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: path.join(OUTPUT, 'admin-page.png'), fullPage: true });
    } finally {
      sending = false;
      await chat;
    }
    expect(errors).toEqual([]);
  }, 30000);

  it("shows the webhook receiver's backlog, which drains when the receiver is back", async () => {
    const backlog = async () => Number((await row('webhooks', receiver.url))?.split(' | ')[1]);
    // The JSON behind it: the receiver as origin and path, and what waits for it on the broker.
    const { body } = await admin('/state');
    expect(body.webhooks).toEqual([{ url: receiver.url, backlog: expect.any(Number) }]);
    expect((body.webhooks as { backlog: number }[])[0].backlog).toBeGreaterThan(0);
    expect(await backlog()).toBeGreaterThan(0);
    expect(receiver.accepted()).toEqual([]);

    receiver.setDown(false);
    await until('the backlog at 0', async () => (await backlog()) === 0, 20000);
    // Columns: receiver | backlog | highest (of the chart's span) | the chart.
    const [, , highest] = (await row('webhooks', receiver.url))?.split(' | ') ?? [];
    expect(Number(highest)).toBeGreaterThan(0);
    expect(receiver.accepted().filter((e) => e.type === 'message.created').length).toBeGreaterThan(
      0,
    );
    expect(receiver.received.every((r) => r.signed)).toBe(true);
    expect(errors).toEqual([]);
  }, 30000);

  it('says there is no webhook receiver on an api without WEBHOOK_URL', async () => {
    const api = await startService('api', { ...cluster.env, STATS_TOKEN: TOKEN });
    try {
      const res = await fetch(`${api.url}/admin/state`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(((await res.json()) as Record<string, unknown>).webhooks).toEqual([]);
      const other = await page.context().newPage();
      await other.goto(`${api.url}/admin`);
      await waitFor(
        async () =>
          (await other.locator('#status').getAttribute('class')) === 'live' &&
          (await other.locator('#webhooks tbody tr').allTextContents()).join() ===
            'no webhook receivers',
        8000,
        'the page of an api without WEBHOOK_URL says: no webhook receivers',
      );
      await other.close();
    } finally {
      stopService(api, 'SIGKILL');
      await exited(api.child);
    }
  }, 30000);

  it('drops the room and the counts after the clients leave', async () => {
    const [g1, g2] = [cluster.gatewayId(0), cluster.gatewayId(1)];
    expect((await clients[0].ack<AnyAck>('room:leave', { room })).ok).toBe(true);
    await until('the room with Bob only, bound to his gateway', async () => {
      return (await row('top-rooms', room)) === `${room} | 1 | 1 | ${g2}`;
    });
    await until('the routing map without the first gateway', async () => {
      return (await row('routing', `room.${room}`)) === `room.${room} | ${g2}`;
    });
    clients[1].close();
    clients[0].close();
    await until('no room and no connection', async () => {
      const cells = await Promise.all([g1, g2].map((g) => row('instances', g)));
      return (
        (await row('top-rooms', room)) === undefined &&
        (await row('routing', `room.${room}`)) === undefined &&
        cells.every((r) => r?.split(' | ').slice(1, 3).join(',') === '0,0') &&
        (await text(page.locator('#connections'))) === '0'
      );
    });
    // The connections chart is at 0 now and still shows the 2 of a moment ago.
    const connections = await trend('connections');
    expect([connections.now, connections.top, connections.peak]).toEqual(['0', 'top 2', 1]);
    expect(errors).toEqual([]);
  });

  it('lists the bans and mutes given through the server API, the most recent first, until they end or are lifted', async () => {
    const hidden = `private-${room}`;
    expect(await rows('bans')).toEqual(['no ban in force']);
    expect(await rows('mutes')).toEqual(['no mute in force']);
    expect((await api(`/rooms/${room}/bans/u-ann`, 'PUT', { reason: 'spam' })).status).toBe(200);
    expect(
      (await api(`/rooms/${room}/mutes/u-bob`, 'PUT', { durationMs: 4000, reason: 'flood' }))
        .status,
    ).toBe(200);
    expect((await api(`/rooms/${hidden}/bans/u-cat`, 'PUT', {})).status).toBe(200);

    // The JSON behind the page: the token was presented, so the private room's ban shows.
    const state = (await admin('/state')).body;
    expect(state.bans).toEqual([
      { room: hidden, userId: 'u-cat', until: null, at: expect.any(Number) },
      { room, userId: 'u-ann', until: null, reason: 'spam', at: expect.any(Number) },
    ]);
    expect(state.mutes).toEqual([
      { room, userId: 'u-bob', until: expect.any(Number), reason: 'flood', at: expect.any(Number) },
    ]);

    // Columns: room | user | ends | reason | given.
    const firstFour = async (table: string) =>
      (await rows(table)).map((r) => r.split(' | ').slice(0, 4).join(' | '));
    await until('both bans, the most recent first, and the mute', async () => {
      const mutes = await firstFour('mutes');
      return (
        JSON.stringify(await firstFour('bans')) ===
          JSON.stringify([
            `${hidden} | u-cat | when lifted | -`,
            `${room} | u-ann | when lifted | spam`,
          ]) &&
        mutes.length === 1 &&
        /^ops-\w+ \| u-bob \| in [1-4] s \| flood$/.test(mutes[0]) &&
        mutes[0].startsWith(`${room} |`)
      );
    });
    expect((await rows('bans'))[0]).toMatch(/ \| \d+ s ago$/);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, 'admin-page-sanctions.png'), fullPage: true });

    // The mute ends by itself; the ban is lifted.
    await until('the mute gone when it ends', async () => {
      return JSON.stringify(await rows('mutes')) === JSON.stringify(['no mute in force']);
    });
    expect((await api(`/rooms/${room}/bans/u-ann`, 'DELETE')).status).toBe(204);
    await until('the lifted ban gone', async () => {
      return (
        JSON.stringify(await firstFour('bans')) ===
        JSON.stringify([`${hidden} | u-cat | when lifted | -`])
      );
    });
    expect((await admin('/state')).body.mutes).toEqual([]);
    expect(errors).toEqual([]);
  }, 30000);

  it("shows the room rules, and a room's rule looked up by name", async () => {
    await until('the two rules of ROOM_RULES', async () => {
      return (
        JSON.stringify(await rows('rules')) ===
        JSON.stringify([
          'announce- | presence: false, typing: false, publish: server',
          'support- | historyMax: 200, maxMembers: 2',
        ])
      );
    });
    const defaults = (await admin('/rules?room=lobby')).body.rule as Record<string, unknown>;

    await page.fill('#rule-room', 'announce-news');
    await page.press('#rule-room', 'Enter');
    await until("announce-news's rule, from its prefix", async () => {
      return (
        (await text(page.locator('#rule-source'))) === 'announce-news: from the rule "announce-"'
      );
    });
    expect(await rows('rule')).toEqual([
      `historyMax | ${String(defaults.historyMax)}`,
      expect.stringMatching(/^historyMaxAgeMs \| \d+ h \d+ min$/),
      'presence | false',
      'typing | false',
      'publish | server',
      'maxMembers | no cap',
      'requiresClaim | false',
    ]);

    await page.fill('#rule-room', 'support-7');
    await page.click('#rule-show');
    await until("support-7's rule", async () => {
      return (await row('rule', 'maxMembers')) === 'maxMembers | 2';
    });
    expect(await text(page.locator('#rule-source'))).toBe('support-7: from the rule "support-"');
    expect(await row('rule', 'historyMax')).toBe('historyMax | 200');
    expect(await row('rule', 'publish')).toBe('publish | members');

    await page.fill('#rule-room', 'lobby');
    await page.click('#rule-show');
    await until('no rule for lobby', async () => {
      return (
        (await text(page.locator('#rule-source'))) ===
        "lobby: no rule matches; the service's own settings"
      );
    });
    expect(await row('rule', 'publish')).toBe('publish | members');
    expect(await row('rule', 'presence')).toBe('presence | true');

    // Not a room name: the contract's error, said on the page, and no table.
    await page.fill('#rule-room', 'no such/room');
    await page.click('#rule-show');
    await until('the error said', async () => {
      return (
        (await text(page.locator('#rule-source'))) ===
        'no such/room: room must match ^[A-Za-z0-9_-]{1,64}$'
      );
    });
    expect(await page.locator('#rule').isHidden()).toBe(true);
    expect(await admin('/rules?room=no%20such')).toEqual({
      status: 400,
      body: { error: { code: 'INVALID_PAYLOAD', message: expect.any(String) } },
    });
    expect((await admin('/rules?room=support-1')).body.rule).toMatchObject({
      prefix: 'support-',
      maxMembers: 2,
      historyMax: 200,
      publish: 'members',
    });
    expect(errors).toEqual([]);
  });
});
