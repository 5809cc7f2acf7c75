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
const XSS = '<img src=x onerror=alert(1)>';

interface ChatPage {
  page: Page;
  context: BrowserContext;
  /** alert/confirm/prompt dialogs the page opened: an XSS would show here. */
  dialogs: string[];
  errors: string[];
  /** Every Socket.IO packet the page sent, over WebSocket frames and polling POSTs alike. */
  sent: string[];
}

/**
 * The web client (dist/web) in headless chromium against real processes: presence, stats, two
 * gateways and nginx in front of them. Two pages are served by one gateway each and talk to it,
 * a third goes through nginx for everything.
 */
describe('web client in chromium (2 gateways, nginx, presence, stats)', () => {
  let bc: BrowserCluster;
  let gateways: RunningService[] = [];
  let stats: RunningService;
  const pages: ChatPage[] = [];

  /** Opens the page (through nginx, or with its socket on `gateway`) and joins `room` as `name`. */
  async function join(name: string, room: string, gateway?: RunningService): Promise<ChatPage> {
    const context = await bc.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    const chat: ChatPage = { page, context, dialogs: [], errors: [], sent: [] };
    page.on('dialog', (d) => {
      chat.dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (err) => chat.errors.push(err.message));
    page.on('websocket', (ws) => ws.on('framesent', (f) => chat.sent.push(String(f.payload))));
    page.on('request', (r) => {
      const body = r.postData();
      if (body) chat.sent.push(body);
    });
    pages.push(chat);
    // A gateway serves the page itself; its Stats API is then on another origin (CORS).
    await page.goto(
      gateway ? `${gateway.url}/?stats=${encodeURIComponent(stats.url)}` : `${bc.nginx.url}/`,
    );
    await page.getByTestId('name').fill(name);
    await page.getByTestId('room').fill(room);
    await page.getByTestId('join').click();
    await waitForText(page.getByTestId('status'), (t) => t === `joined ${room}`, `${name} joined`);
    return chat;
  }

  const texts = (p: ChatPage, testId: string) => p.page.getByTestId(testId).allTextContents();
  const membersOf = (p: ChatPage, expected: string[], what: string) =>
    waitForText(p.page.getByTestId('member'), (t) => t === expected.join('|'), what);
  const onlineOf = (p: ChatPage, expected: number, what: string) =>
    waitForText(p.page.getByTestId('online'), (t) => t === String(expected), what);

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

  /** The page's messages as `user: text @ serverId`, in the order shown. */
  async function messagesOf(p: ChatPage): Promise<string[]> {
    const [users, bodies, servers] = await Promise.all([
      texts(p, 'message-user'),
      texts(p, 'message-text'),
      texts(p, 'message-server'),
    ]);
    return bodies.map((body, i) => `${users[i]}: ${body} @ ${servers[i]}`);
  }

  async function seqsOf(p: ChatPage): Promise<number[]> {
    const items = p.page.getByTestId('message');
    const seqs: number[] = [];
    for (let i = 0; i < (await items.count()); i++) {
      seqs.push(Number(await items.nth(i).getAttribute('data-seq')));
    }
    return seqs;
  }

  beforeAll(async () => {
    // Missing tools fail the suite with how to install them: this test never skips.
    bc = await startBrowserCluster({ label: 'browser', gateways: 2 });
    gateways = bc.cluster.gateways;
    stats = bc.cluster.api;
  }, 60000);

  afterAll(async () => {
    await bc?.stop();
  }, 30000);

  afterEach(() => {
    for (const p of pages) {
      expect(p.errors).toEqual([]);
      expect(p.dialogs).toEqual([]);
    }
  });

  it('lets pages on two gateways and behind nginx chat, see members, typing and the online count', async () => {
    const ann = await join('Ann', 'general', gateways[0]);
    await onlineOf(ann, 1, 'online 1 with Ann alone');
    const bob = await join('Bob', 'general', gateways[1]);
    const cat = await join('Cat', 'general');
    await onlineOf(ann, 3, 'online 3 on Ann’s page');
    for (const p of [ann, bob, cat]) await membersOf(p, ['Ann', 'Bob', 'Cat'], 'three members');

    await send(ann, 'hello from Ann');
    await bob.page.getByTestId('text').pressSequentially('typi', { delay: 20 });
    await waitForText(ann.page.getByTestId('typing'), (t) => t === 'Bob is typing…', 'Bob typing');
    await send(bob, XSS);
    await send(cat, 'hi from behind nginx');

    const ids = gateways.map((_, i) => bc.cluster.gatewayId(i));
    for (const p of [ann, bob, cat]) {
      await waitForText(p.page.getByTestId('message-text'), (t) => t.split('|').length === 3, '3');
      const shown = await messagesOf(p);
      expect(shown.slice(0, 2)).toEqual([
        `Ann: hello from Ann @ ${ids[0]}`,
        `Bob: ${XSS} @ ${ids[1]}`,
      ]);
      // Through nginx, Cat landed on one of the two gateways.
      expect(ids.map((id) => `Cat: hi from behind nginx @ ${id}`)).toContain(shown[2]);
      // The markup stayed text: no element was made from it, and nothing ran (afterEach).
      expect(await p.page.locator('img').count()).toBe(0);
      await waitForText(
        p.page.getByTestId('typing'),
        (t) => t === '',
        'typing cleared by the send',
      );
    }
    mkdirSync(OUTPUT, { recursive: true });
    await ann.page.screenshot({ path: path.join(OUTPUT, 'browser-chat.png'), fullPage: true });

    await bob.context.close();
    await membersOf(ann, ['Ann', 'Cat'], 'Bob gone from the members');
    await onlineOf(ann, 2, 'online 2 after Bob left');
  }, 40000);

  it('reconnects after a dropped connection and rejoins with sinceSeq, adding what it missed', async () => {
    const dan = await join('Dan', 'reconnect', gateways[0]);
    const eve = await join('Eve', 'reconnect'); // through nginx
    await send(dan, 'before the drop');
    await waitForText(
      eve.page.getByTestId('message-text'),
      (t) => t === 'before the drop',
      'first',
    );
    const [lastSeq] = await seqsOf(eve);

    // Stopping nginx cuts Eve's connection; Dan's goes straight to a gateway.
    await bc.stopNginx();
    await waitForText(eve.page.getByTestId('status'), (t) => t.startsWith('disconnected'), 'drop');
    await send(dan, 'missed 1');
    await send(dan, 'missed 2');
    await bc.restartNginx();

    await waitForText(
      eve.page.getByTestId('status'),
      (t) => t === 'rejoined reconnect: 2 missed',
      'Eve rejoined',
      15000,
    );
    // The page never shows a seq number: not in the status, not beside a message.
    expect(await eve.page.locator('body').innerText()).not.toMatch(/#\d/);
    expect(await texts(eve, 'message-text')).toEqual(['before the drop', 'missed 1', 'missed 2']);
    expect(await seqsOf(eve)).toEqual([lastSeq, lastSeq + 1, lastSeq + 2]);
    const rejoin = eve.sent.filter((s) => s.includes('"room:join"') && s.includes('"sinceSeq"'));
    expect(rejoin).toHaveLength(1);
    expect(rejoin[0]).toContain(`"sinceSeq":${lastSeq}`);
    mkdirSync(OUTPUT, { recursive: true });
    await eve.page.screenshot({ path: path.join(OUTPUT, 'browser-rejoin.png'), fullPage: true });
    await send(eve, 'back again');
    await waitForText(
      dan.page.getByTestId('message-text'),
      (t) => t.endsWith('|back again'),
      'Dan',
    );
  }, 40000);
});
