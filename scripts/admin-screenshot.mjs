// docs/admin-page.png: the operations page in headless chromium against a real local cluster (two
// gateways, presence, the api; the machine's Redis and RabbitMQ under a run prefix of its own),
// after a few minutes of chat whose pace rises and falls, clients coming and going, and a webhook
// receiver that is down for a while (its backlog grows, then drains). Needs `npm run build` and
// `npm run build:testing` (the test harness in dist-testing/), and chromium.
//   node scripts/admin-screenshot.mjs [--seconds 150] [--out docs/admin-page.png]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  connectClient,
  startBrowserCluster,
  startWebhookReceiver,
  waitFor,
} from '../dist-testing/libs/testing/src/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '150' },
    out: { type: 'string', default: 'docs/admin-page.png' },
  },
});
const SECONDS = Number(values.seconds);
const TOKEN = 'admin-screenshot-token-0123456789';
const SECRET = `whsec_${Buffer.from('admin-screenshot-webhook-secret-0').toString('base64')}`;
const ROOMS = ['lobby', 'support-7', 'random'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const receiver = await startWebhookReceiver({ secret: SECRET });
const bc = await startBrowserCluster({
  label: 'shot',
  gateways: 2,
  nginx: false,
  env: { WEBHOOK_MESSAGES: 'true' },
  presenceEnv: {
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_MAX_RETRY_MS: '1000',
    WEBHOOK_PARK_MS: '1000',
    WEBHOOK_PREFETCH: '2',
    WEBHOOK_MAX_ATTEMPTS: '1000',
  },
  apiEnv: { STATS_TOKEN: TOKEN, WEBHOOK_URL: receiver.url },
});
const clients = [];
try {
  const { cluster, browser } = bc;
  const context = await browser.newContext({
    httpCredentials: { username: 'admin', password: TOKEN },
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  await page.goto(`${cluster.api.url}/admin`);
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  let stop = false;
  // Clients arrive over the first third and some leave in the last; each sends at a pace that
  // rises and falls (a few messages a second each, under the gateway's rate limit).
  const people = Array.from({ length: 8 }, (_, i) => ({
    name: `user${i + 1}`,
    at: (i * SECONDS) / 24,
    leaveAt: i % 4 === 1 ? SECONDS * 0.8 : Infinity,
  }));
  const chat = people.map(async (p, i) => {
    await sleep(p.at * 1000);
    const c = await connectClient(cluster.gateways[i % 2].url, p.name);
    clients.push(c);
    const room = ROOMS[i % ROOMS.length];
    await c.ack('room:join', { room });
    for (let n = 0; !stop && elapsed() < p.leaveAt; n++) {
      await c.ack('message:send', { room, text: `message ${n} from ${p.name}` });
      const pace = 1.5 + 1.2 * Math.sin((elapsed() / SECONDS) * 3 * Math.PI);
      await sleep(1000 / Math.max(0.3, pace));
    }
    if (!stop) c.close();
  });
  // The receiver is down for the second quarter: its backlog grows, then drains.
  await sleep(SECONDS * 250);
  receiver.setDown(true);
  await sleep(SECONDS * 250);
  receiver.setDown(false);
  await sleep(SECONDS * 500 - 500);
  await waitFor(
    async () => (await page.locator('#status').getAttribute('class')) === 'live',
    5000,
    'the page live',
  );
  const out = path.resolve(ROOT, values.out);
  await page.screenshot({ path: out, fullPage: true });
  process.stdout.write(`wrote ${out}\n`);
  stop = true;
  await Promise.all(chat);
} finally {
  for (const c of clients) c.close();
  await bc.stop();
  await receiver.close();
}
