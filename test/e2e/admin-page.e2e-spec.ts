import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import {
  connectClient,
  startBrowserCluster,
  waitFor,
  type AnyAck,
  type BrowserCluster,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import type { Browser, Locator, Page } from 'playwright-core';

const ROOT = path.resolve(__dirname, '../..');
const OUTPUT = path.join(ROOT, 'test-output');
const TOKEN = 'admin-page-token-0123456789';

/**
 * The operations page (/admin on stats) in headless chromium, signed in with STATS_TOKEN as the
 * Basic password, against two gateways: a room appears with both gateways bound to it after two
 * clients join it, one on each; delivery rates show while they chat; the counts drop after they
 * leave. The page is never reloaded.
 */
describe('operations page in chromium (/admin, 2 gateways)', () => {
  let bc: BrowserCluster | undefined;
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const clients: TestClient[] = [];
  const room = `ops-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    // The api serves the page itself: no nginx in front.
    bc = await startBrowserCluster({
      label: 'admin',
      gateways: 2,
      apiEnv: { STATS_TOKEN: TOKEN },
      nginx: false,
    });
    ({ cluster, browser } = bc);
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await bc?.stop();
  }, 30000);

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
        status: await text(page.locator('#status')),
      };
      throw new Error(`${err.message}; page shows ${JSON.stringify(seen)}`, { cause: err });
    });
  }
  const text = async (l: Locator) => ((await l.textContent()) ?? '').trim();

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
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: path.join(OUTPUT, 'admin-page.png'), fullPage: true });
    } finally {
      sending = false;
      await chat;
    }
    expect(errors).toEqual([]);
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
    expect(errors).toEqual([]);
  });
});
