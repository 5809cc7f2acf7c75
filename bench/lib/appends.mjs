// Appends per Redis master: RoomHistory.appendMessage, the one script every accepted send runs
// (next seq, history, retention), from concurrent loops over many rooms, against one Redis and
// against a Redis Cluster of 3 masters, both of the benchmark's own (fresh, nothing else on them).
// Each append is counted for the master that owns its room's slot, beside that master's CPU, so
// the report gives what each master did and what one core of it could do (1 s / CPU per append).
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, startRedisCluster, startRedisServer } from './harness.mjs';
import { log, fmtRate } from './log.mjs';
import { cpuMicros } from './proc.mjs';

const require = createRequire(import.meta.url);
/** The store as the services run it: dist/, with its Lua scripts beside it. */
const store = () => require(join(ROOT, 'dist/libs/store/src/index.js'));

const ROOMS = 300;
const CONCURRENCY = 64;
const WARMUP_MS = 300;
/** About the size of the load generator's messages. */
const TEXT = 'x'.repeat(150);

/** `durationMs` of appends from CONCURRENCY loops over `rooms`; counts per room. */
async function drive(history, rooms, durationMs) {
  const counts = new Map(rooms.map((r) => [r, 0]));
  let errors = 0;
  let lastError;
  const until = performance.now() + durationMs;
  const user = { id: 'u-bench-appends', name: 'bench' };
  const loop = async (i) => {
    for (let k = i; performance.now() < until; k += CONCURRENCY) {
      const room = rooms[k % rooms.length];
      const draft = {
        id: randomUUID(),
        room,
        text: TEXT,
        user,
        ts: Date.now(),
        serverId: 'bench-appends',
      };
      try {
        await history.appendMessage(draft);
        counts.set(room, counts.get(room) + 1);
      } catch (err) {
        errors++;
        lastError = err.message;
        // A store that fails every call would otherwise spin: a failed call costs its time.
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => loop(i)));
  return { counts, errors, lastError };
}

/**
 * Appends for `durationMs` on one Redis deployment: `masters` is [{ port, pid }], `ownerOf(room)`
 * the port of the master that owns the room's keys.
 */
async function measureOn({ url, cluster, masters, ownerOf, prefix, durationMs }) {
  const { RoomHistory, createRedisClient, redisReady } = store();
  const client = createRedisClient({ url, cluster });
  client.on('error', () => undefined);
  try {
    await redisReady(client);
    const history = new RoomHistory(client, prefix);
    const rooms = Array.from({ length: ROOMS }, (_, i) => `appends-r${i}`);
    const owner = new Map();
    for (const r of rooms) owner.set(r, await ownerOf(history.keys.roomSeq(r)));
    await drive(history, rooms, WARMUP_MS);

    const cpu0 = masters.map((m) => cpuMicros(m.pid));
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const { counts, errors, lastError } = await drive(history, rooms, durationMs);
    const wallS = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const cpu1 = masters.map((m) => cpuMicros(m.pid));

    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const perMaster = masters.map((m, i) => {
      const appends = rooms.reduce((a, r) => a + (owner.get(r) === m.port ? counts.get(r) : 0), 0);
      const us = cpu1[i] - cpu0[i];
      return {
        port: m.port,
        rooms: rooms.filter((r) => owner.get(r) === m.port).length,
        appends,
        appendsPerSec: appends / wallS,
        cores: us / 1e6 / wallS,
        usPerAppend: appends ? us / appends : null,
        // What one core of this master would do at that cost.
        ceilingPerSec: appends && us ? (appends * 1e6) / us : null,
      };
    });
    return {
      appends: total,
      appendsPerSec: total / wallS,
      errors,
      lastError,
      clientCores: (self.user + self.system) / 1e6 / wallS,
      perMaster,
    };
  } finally {
    client.disconnect();
  }
}

/**
 * The appends measure on one Redis and on a Redis Cluster of 3 masters, each started for it and
 * stopped after: [{ target, masters, ...result }] or { target, error }.
 */
export async function measureAppends({ durationMs }) {
  const prefix = `bench-appends-${Date.now().toString(36)}:`;
  const out = [];
  const targets = [
    {
      target: 'one Redis',
      async start() {
        const server = await startRedisServer();
        return {
          url: server.url,
          cluster: false,
          masters: [{ port: server.port, pid: server.pid() }],
          ownerOf: async () => server.port,
          stop: () => server.stop(),
        };
      },
    },
    {
      target: 'Redis Cluster, 3 masters',
      async start() {
        const rc = await startRedisCluster({ masters: 3 });
        return {
          url: rc.url,
          cluster: true,
          masters: rc.nodes,
          ownerOf: async (key) => (await rc.masterFor(key)).port,
          stop: () => rc.stop(),
        };
      },
    },
  ];
  for (const t of targets) {
    let deployment;
    try {
      deployment = await t.start();
      const r = await measureOn({ ...deployment, prefix, durationMs });
      out.push({ target: t.target, masters: deployment.masters.length, ...r });
      log(
        `  appends on ${t.target}: ${fmtRate(r.appendsPerSec)}/s (` +
          r.perMaster
            .map((m) => `:${m.port} ${fmtRate(m.appendsPerSec)}/s at ${m.cores.toFixed(2)} cores`)
            .join(', ') +
          `), client ${r.clientCores.toFixed(2)} cores, ${r.errors} errors` +
          (r.lastError ? ` (last: ${r.lastError})` : ''),
      );
    } catch (err) {
      out.push({ target: t.target, error: String(err?.stack ?? err) });
      log(`  appends on ${t.target}: ERROR ${err.message}`);
    } finally {
      await deployment?.stop().catch(() => undefined);
    }
  }
  return out;
}
