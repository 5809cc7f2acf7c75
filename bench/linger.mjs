#!/usr/bin/env node
// `npm run bench:linger`: what the linger of bindings (UNBIND_LINGER_MS) trades, measured. Small
// rooms (2 members: one on gateway 1, one on gateway 2, as direct messages are) whose gateway-1
// member reconnects now and then (a page reload, a flaky network: gone 0-2 s, then back in the
// same room), while the other member talks. For each linger, gateway 1's broker operations
// (binds + unbinds) and the room entries it received for rooms with no local member (unused) are
// counted over the same churn. Writes docs/benchmarks/linger.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIFTED_LIMITS, DOCS_DIR } from './lib/constants.mjs';
import { connectClient, killAll, metricValue, startCluster } from './lib/harness.mjs';

const ROOMS = Number(process.env.LINGER_ROOMS ?? 200);
const SECONDS = Number(process.env.LINGER_SECONDS ?? 20);
/** Reconnects per second, over all rooms. */
const RECONNECTS = Number(process.env.LINGER_RECONNECTS ?? 20);
/** Messages per second, over all rooms (each from the member on gateway 2). */
const SENDS = Number(process.env.LINGER_SENDS ?? 200);
const LINGERS = (process.env.LINGERS ?? '0,2000,5000').split(',').map(Number);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function gatewayCounters(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return {
    bindingOps: metricValue(text, 'roomcast_room_binding_changes_total'),
    entries: metricValue(text, 'roomcast_broker_entries_total'),
    unused: metricValue(text, 'roomcast_broker_entries_unused_total'),
  };
}

async function run(lingerMs) {
  const cluster = await startCluster({
    label: `linger${lingerMs}`,
    gateways: 2,
    env: { NODE_ENV: 'development', LOG_LEVEL: 'error' },
    gatewayEnv: { ...LIFTED_LIMITS, UNBIND_LINGER_MS: String(lingerMs) },
  });
  const [g1, g2] = cluster.gateways;
  const rooms = Array.from({ length: ROOMS }, (_, i) => `dm-${lingerMs}-${i}`);
  const near = [];
  const far = [];
  try {
    for (const room of rooms) {
      const a = await connectClient(g1.url, `a-${room}`);
      const b = await connectClient(g2.url, `b-${room}`);
      await a.ok('room:join', { room });
      await b.ok('room:join', { room });
      near.push(a);
      far.push(b);
    }
    const before = await gatewayCounters(g1.url);
    const end = Date.now() + SECONDS * 1000;
    let reconnects = 0;
    let sends = 0;
    const churn = (async () => {
      const pending = [];
      while (Date.now() < end) {
        const i = Math.floor(Math.random() * ROOMS);
        const old = near[i];
        if (old) {
          near[i] = undefined;
          reconnects++;
          pending.push(
            (async () => {
              old.close();
              await sleep(Math.random() * 2000);
              const back = await connectClient(g1.url, `a-${rooms[i]}`);
              await back.ok('room:join', { room: rooms[i] });
              near[i] = back;
            })(),
          );
        }
        await sleep(1000 / RECONNECTS);
      }
      await Promise.all(pending);
    })();
    const talk = (async () => {
      while (Date.now() < end) {
        const i = Math.floor(Math.random() * ROOMS);
        far[i].ok('message:send', { room: rooms[i], text: 'hi' }).catch(() => undefined);
        sends++;
        await sleep(1000 / SENDS);
      }
    })();
    await Promise.all([churn, talk]);
    // Every linger that started has run out: the unbinds it held back are counted.
    await sleep(lingerMs + 500);
    const after = await gatewayCounters(g1.url);
    return {
      lingerMs,
      reconnects,
      sends,
      bindingOps: after.bindingOps - before.bindingOps,
      entries: after.entries - before.entries,
      unusedEntries: after.unused - before.unused,
    };
  } finally {
    for (const c of [...near, ...far]) c?.close();
    await cluster.stop();
  }
}

async function main() {
  const results = [];
  for (const lingerMs of LINGERS) {
    const r = await run(lingerMs);
    process.stdout.write(
      `[linger] ${lingerMs} ms: ${r.reconnects} reconnects, ${r.bindingOps} binding operations, ` +
        `${r.unusedEntries} unused of ${r.entries} entries on gateway 1 (${r.sends} sends)\n`,
    );
    results.push(r);
  }
  const out = join(DOCS_DIR, 'linger.json');
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        setup: { rooms: ROOMS, seconds: SECONDS, reconnectsPerSec: RECONNECTS, sendsPerSec: SENDS },
        results,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`[linger] wrote ${out}\n`);
}

main()
  .catch((err) => {
    process.stderr.write(`[linger] ${err.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => killAll());
