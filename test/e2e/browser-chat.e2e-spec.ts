import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import {
  startBrowserCluster,
  waitFor,
  waitForText,
  type BrowserCluster,
  type RunningService,
} from '@roomcast/testing';
import type { BrowserContext, Page } from 'playwright-core';

const ROOT = path.resolve(__dirname, '../..');
const OUTPUT = path.join(ROOT, 'test-output');

interface ChatPage {
  page: Page;
  context: BrowserContext;
  errors: string[];
  /** Every Socket.IO packet the page sent, over WebSocket frames and polling POSTs alike. */
  sent: string[];
}

/**
 * The web client's rooms, unread badges, edits, deletions and reactions, in headless chromium
 * against real processes: presence, stats, two gateways and nginx. Ann has two tabs (open mode:
 * one name, one user) on the two gateways; Bob goes through nginx.
 */
describe('web client in chromium: rooms, unread badges, edits and reactions', () => {
  let bc: BrowserCluster;
  let gateways: RunningService[] = [];
  let stats: RunningService;
  const pages: ChatPage[] = [];

  /** Opens the page (through nginx, or with its socket on `gateway`) and joins `rooms` as `name`. */
  async function open(name: string, rooms: string[], gateway?: RunningService): Promise<ChatPage> {
    const context = await bc.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    const chat: ChatPage = { page, context, errors: [], sent: [] };
    page.on('pageerror', (err) => chat.errors.push(err.message));
    page.on('websocket', (ws) => ws.on('framesent', (f) => chat.sent.push(String(f.payload))));
    page.on('request', (r) => {
      const body = r.postData();
      if (body) chat.sent.push(body);
    });
    pages.push(chat);
    await page.goto(
      gateway ? `${gateway.url}/?stats=${encodeURIComponent(stats.url)}` : `${bc.nginx.url}/`,
    );
    await page.getByTestId('name').fill(name);
    for (const room of rooms) {
      await page.getByTestId('room').fill(room);
      await page.getByTestId('join').click();
      await waitForText(
        page.getByTestId('status'),
        (t) => t === `joined ${room}`,
        `${name} in ${room}`,
      );
    }
    return chat;
  }

  const entry = (p: ChatPage, room: string) =>
    p.page.locator(`[data-testid="room-entry"][data-room="${room}"]`);
  /** What the room's badge says ('' when hidden), as the user sees it. */
  const badgeOf = async (p: ChatPage, room: string) => {
    const badge = entry(p, room).getByTestId('room-badge');
    return (await badge.isVisible()) ? ((await badge.textContent()) ?? '') : '';
  };
  const badgeIs = (p: ChatPage, room: string, expected: string, what: string) =>
    waitFor(async () => (await badgeOf(p, room)) === expected, 8000, what).catch(async (err) => {
      throw new Error(`${(err as Error).message}; badge "${await badgeOf(p, room)}"`, {
        cause: err,
      });
    });
  const messageWith = (p: ChatPage, text: string) =>
    p.page.getByTestId('message').filter({ hasText: text });

  async function send(p: ChatPage, text: string): Promise<void> {
    await p.page.getByTestId('text').fill(text);
    await p.page.getByTestId('send').click();
    // Shown at once as "sending…" (the input cleared), then as sent once the server accepted it.
    await waitFor(
      async () =>
        (await p.page.getByTestId('text').inputValue()) === '' &&
        (await p.page.getByTestId('message-pending').count()) === 0,
      5000,
      'accepted',
    );
  }

  beforeAll(async () => {
    // Missing tools fail the suite with how to install them: this test never skips.
    bc = await startBrowserCluster({ label: 'browser-rooms', gateways: 2 });
    gateways = bc.cluster.gateways;
    stats = bc.cluster.api;
  }, 60000);

  afterAll(async () => {
    await bc?.stop();
  }, 30000);

  afterEach(() => {
    for (const p of pages) expect(p.errors).toEqual([]);
  });

  it('shows unread badges that clear in both tabs, edits, deletions and reactions, after a reconnect too', async () => {
    const [lobby, news] = ['lobby', 'news'];
    // The room joined last is the one shown: Ann's two tabs show the lobby, Bob the news.
    const tab1 = await open('Ann', [news, lobby], gateways[0]);
    const tab2 = await open('Ann', [news, lobby], gateways[1]);
    const bob = await open('Bob', [lobby, news]);
    for (const t of ['one', 'two', 'three']) await send(bob, `news ${t}`);
    await badgeIs(tab1, news, '3', 'tab 1 counts 3 unread in news');
    await badgeIs(tab2, news, '3', 'tab 2 counts 3 unread in news');
    expect(await badgeOf(tab1, lobby)).toBe('');

    // Reading the news in tab 1 clears the badge in tab 2 (the `read` event).
    await entry(tab1, news).getByTestId('room-open').click();
    await badgeIs(tab1, news, '', 'tab 1 read the news');
    await badgeIs(tab2, news, '', 'tab 2 hears that Ann read the news');

    // Ann writes in the news, edits one message and deletes another; Bob sees both.
    await send(tab1, 'first draft');
    await send(tab1, 'a mistake');
    await messageWith(tab1, 'first draft').getByTestId('edit').click();
    await tab1.page.getByTestId('edit-text').fill('final text');
    await tab1.page.getByTestId('edit-save').click();
    await messageWith(tab1, 'a mistake').getByTestId('delete').click();
    await waitForText(
      bob.page.getByTestId('message-text'),
      (t) => t.endsWith('|final text|message deleted'),
      'Bob sees the edit and the deletion',
    );
    await waitForText(
      messageWith(bob, 'final text').getByTestId('message-edited'),
      (t) => t === '(edited)',
      'marked edited',
    );
    // Her own messages never count as unread in her other tab.
    expect(await badgeOf(tab2, news)).toBe('');

    // Bob reacts; Ann sees the count.
    await messageWith(bob, 'final text').locator('[data-testid="react"][data-emoji="👍"]').click();
    const annThumb = messageWith(tab1, 'final text').locator(
      '[data-testid="react"][data-emoji="👍"] [data-testid="reaction-count"]',
    );
    await waitForText(annThumb, (t) => t === '1', "Ann sees Bob's reaction");

    // Bob's connection drops (nginx stops); meanwhile Ann edits again and reacts too.
    await bc.stopNginx();
    await waitForText(bob.page.getByTestId('status'), (t) => t.startsWith('disconnected'), 'drop');
    await messageWith(tab1, 'final text').getByTestId('edit').click();
    await tab1.page.getByTestId('edit-text').fill('final text, really');
    await tab1.page.getByTestId('edit-save').click();
    await messageWith(tab1, 'final text, really')
      .locator('[data-testid="react"][data-emoji="👍"]')
      .click();
    await waitForText(annThumb, (t) => t === '2', 'two reactions');
    await bc.restartNginx();
    await waitForText(
      bob.page.getByTestId('status'),
      (t) => t.startsWith('rejoined'),
      'Bob rejoined',
      15000,
    );
    await waitForText(
      bob.page.getByTestId('message-text'),
      (t) => t.endsWith('|final text, really|message deleted'),
      'Bob has the edit made while he was away',
    );
    await waitForText(
      messageWith(bob, 'final text, really').locator(
        '[data-testid="react"][data-emoji="👍"] [data-testid="reaction-count"]',
      ),
      (t) => t === '2',
      'and the reaction',
    );
    // A new tab of Ann's shows it all from history, and nothing unread.
    const tab3 = await open('Ann', [news], gateways[1]);
    await waitForText(
      tab3.page.getByTestId('message-text'),
      (t) => t === 'news one|news two|news three|final text, really|message deleted',
      'history in its current state',
    );
    await badgeIs(tab3, news, '', 'nothing unread');
    // Every edit, deletion and reaction went out with a clientId, so a retry is applied once.
    const changes = [...tab1.sent, ...bob.sent].filter((d) =>
      /"message:(edit|delete|react)"/.test(d),
    );
    expect(changes.length).toBeGreaterThanOrEqual(5);
    for (const d of changes) expect(d).toMatch(/"clientId":"[^"]+"/);
    mkdirSync(OUTPUT, { recursive: true });
    await tab1.page.screenshot({ path: path.join(OUTPUT, 'browser-rooms.png'), fullPage: true });
  }, 60000);
});
