import {
  startBrowserCluster,
  waitFor,
  waitForText,
  type BrowserCluster,
  type RunningService,
} from '@roomcast/testing';
import type { BrowserContext, Page } from 'playwright-core';

interface ChatPage {
  page: Page;
  context: BrowserContext;
  errors: string[];
  /** What the page sent and received over Socket.IO, in order: WebSocket frames and polling. */
  wire: { dir: 'out' | 'in'; data: string }[];
}

/** The texts of the changes the page's outbox keeps in IndexedDB (database per user name). */
const outboxTexts = (p: ChatPage, user: string): Promise<string[]> =>
  p.page.evaluate(`new Promise((resolve, reject) => {
    const open = indexedDB.open(${JSON.stringify(`roomcast-outbox:${user}`)});
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('ops')) return resolve([]);
      const all = db.transaction('ops', 'readonly').objectStore('ops').getAll();
      all.onerror = () => reject(all.error);
      all.onsuccess = () => {
        db.close();
        resolve(all.result.map((op) => op.text ?? op.kind));
      };
    };
  })`);

/**
 * The web client's outbox in headless chromium: Ann's page (served by a gateway, its socket
 * through nginx) sends while nginx is down, so the server is unreachable; the send waits in
 * IndexedDB, the page is reloaded, and once nginx is back the message goes out after the room
 * is joined again and is delivered exactly once. Bob's page talks to a gateway straight.
 */
describe('web client in chromium: a send made offline survives a reload and is delivered once', () => {
  let bc: BrowserCluster;
  let gateways: RunningService[] = [];
  const pages: ChatPage[] = [];

  async function open(url: string): Promise<ChatPage> {
    const context = await bc.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    const chat: ChatPage = { page, context, errors: [], wire: [] };
    page.on('pageerror', (err) => chat.errors.push(err.message));
    page.on('websocket', (ws) => {
      ws.on('framesent', (f) => chat.wire.push({ dir: 'out', data: String(f.payload) }));
      ws.on('framereceived', (f) => chat.wire.push({ dir: 'in', data: String(f.payload) }));
    });
    page.on('request', (r) => {
      const body = r.postData();
      if (body && r.url().includes('/socket.io/')) chat.wire.push({ dir: 'out', data: body });
    });
    page.on('response', (r) => {
      if (!r.url().includes('/socket.io/') || r.request().method() !== 'GET') return;
      r.text().then(
        (data) => chat.wire.push({ dir: 'in', data }),
        () => undefined,
      );
    });
    pages.push(chat);
    await page.goto(url);
    return chat;
  }

  async function join(p: ChatPage, name: string, room: string): Promise<void> {
    await p.page.getByTestId('name').fill(name);
    await p.page.getByTestId('room').fill(room);
    await p.page.getByTestId('join').click();
  }

  const status = (p: ChatPage, check: (t: string) => boolean, what: string, timeoutMs = 10000) =>
    waitForText(p.page.getByTestId('status'), check, what, timeoutMs);
  const texts = (p: ChatPage) => p.page.getByTestId('message-text').allTextContents();
  const pendingTexts = (p: ChatPage) =>
    p.page
      .locator('[data-testid="message"][data-pending]')
      .getByTestId('message-text')
      .allTextContents();

  beforeAll(async () => {
    bc = await startBrowserCluster({ label: 'browser-outbox', gateways: 2 });
    gateways = bc.cluster.gateways;
  }, 60000);

  afterAll(async () => {
    await bc?.stop();
  }, 30000);

  afterEach(() => {
    for (const p of pages) expect(p.errors).toEqual([]);
  });

  it('keeps the send across the reload, sends it after the rejoin, and it arrives once', async () => {
    const room = 'outbox';
    const stats = encodeURIComponent(bc.cluster.api.url);
    // Ann's page comes from a gateway (it can reload while nginx is down), her socket via nginx.
    const annUrl = `${gateways[0].url}/?server=${encodeURIComponent(bc.nginx.url)}&stats=${stats}`;
    const ann = await open(annUrl);
    await join(ann, 'Ann', room);
    await status(ann, (t) => t === `joined ${room}`, 'Ann joined');
    const bob = await open(`${gateways[1].url}/?stats=${stats}`);
    await join(bob, 'Bob', room);
    await status(bob, (t) => t === `joined ${room}`, 'Bob joined');

    await bc.stopNginx();
    await status(ann, (t) => t.startsWith('disconnected'), 'Ann cut off');
    await ann.page.getByTestId('text').fill('typed offline');
    await ann.page.getByTestId('send').click();
    // Shown at once, as not sent yet; kept in IndexedDB.
    await waitFor(
      async () => (await pendingTexts(ann)).join('|') === 'typed offline',
      5000,
      'Ann sees her message as sending',
    );
    expect(await ann.page.getByTestId('text').inputValue()).toBe('');
    await waitFor(
      async () => (await outboxTexts(ann, 'Ann')).join('|') === 'typed offline',
      5000,
      'the send kept in the IndexedDB outbox',
    );

    await ann.page.reload();
    ann.wire.length = 0;
    await join(ann, 'Ann', room);
    // Still unreachable: after the reload the page shows the send waiting, from the outbox.
    await waitFor(
      async () => (await pendingTexts(ann)).join('|') === 'typed offline',
      5000,
      'the send is shown as sending after the reload',
    );
    await waitForText(
      ann.page.getByTestId('message-pending'),
      (t) => t === 'sending…',
      'marked sending',
    );
    expect(await texts(bob)).toEqual([]);

    await bc.restartNginx();
    await status(ann, (t) => t === `joined ${room}`, 'Ann joined again', 20000);
    await waitForText(
      bob.page.getByTestId('message-text'),
      (t) => t === 'typed offline',
      'Bob gets the message',
      10000,
    );
    await waitFor(
      async () =>
        (await pendingTexts(ann)).length === 0 && (await texts(ann)).join('|') === 'typed offline',
      10000,
      'Ann sees it sent, once',
    );
    await waitFor(
      async () => (await outboxTexts(ann, 'Ann')).length === 0,
      5000,
      'the outbox emptied',
    );
    // Nothing more comes: exactly once.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await texts(bob)).toEqual(['typed offline']);
    expect(await texts(ann)).toEqual(['typed offline']);
    expect(await ann.page.getByTestId('error').textContent()).toBe('');

    // On the wire: one send, and only after the room was joined (never NOT_IN_ROOM).
    const out = ann.wire.filter((w) => w.dir === 'out').map((w) => w.data);
    const sends = out.filter((d) => d.includes('"message:send"'));
    expect(sends).toHaveLength(1);
    expect(sends[0]).toContain('typed offline');
    expect(sends[0]).toMatch(/"clientId":"[^"]+"/);
    const joinAt = out.findIndex((d) => d.includes('"room:join"'));
    expect(joinAt).toBeGreaterThanOrEqual(0);
    expect(out.indexOf(sends[0])).toBeGreaterThan(joinAt);
    expect(ann.wire.filter((w) => w.data.includes('NOT_IN_ROOM'))).toEqual([]);
  }, 90000);
});
