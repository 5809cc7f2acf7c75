// The systems under test: how to start each, which processes make up its cost, how to read its
// broker counters, and how to stop it and remove what it left in Redis and RabbitMQ.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import {
  ROOT,
  exited,
  freePort,
  killGroup,
  readMetrics,
  spawnGroup,
  startCluster,
  waitFor,
  waitServing,
} from './harness.mjs';
import { LIFTED_LIMITS, PROBE_ARGS, ROOMCAST, SYSTEMS } from './constants.mjs';
import { redisUsedMemory } from './measure.mjs';

const SERVER = join(ROOT, 'bench/server.mjs');
/** Enough of a server's output to say why it died, without growing over a long run. */
const KEEP_LOGS = 200;

/**
 * Full-GC memoryUsage() of a process started under bench/probe.cjs (PROBE_ARGS) with
 * BENCH_PROBE_DIR=dir: SIGWINCH asks for it, the probe writes it to dir/<pid>.mem.json.
 */
export async function probeMemory(pid, dir) {
  const file = join(dir, `${pid}.mem.json`);
  rmSync(file, { force: true });
  process.kill(pid, 'SIGWINCH');
  await waitFor(() => existsSync(file), 20000, `memory probe of pid ${pid}`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** The Redis Cluster of system C: 3 masters, no replica (a replica's CPU is not the point). */
const REDIS_CLUSTER = { masters: 3, replicasPerMaster: 0 };

/**
 * roomcast's broker counters, summed like bench/server.mjs's /bench ones. A counter a build does
 * not export reads as 0 (readMetrics sums the lines it finds), and the report shows "n/a" for it.
 */
const ROOMCAST_COUNTERS = {
  deliveries: 'roomcast_broker_deliveries_total',
  unused: 'roomcast_broker_deliveries_unused_total',
  gapFilled: 'roomcast_gap_fill_messages_total',
  duplicatesDropped: 'roomcast_duplicates_dropped_total',
  // Batching (issue 28): broker messages published carrying room entries, the entries in them
  // (messages, updates, notices), and the entries received, of which for no local member.
  roomMessagesPublished: 'roomcast_broker_room_messages_published_total',
  roomEntriesPublished: 'roomcast_broker_room_entries_published_total',
  entries: 'roomcast_broker_entries_total',
  entriesUnused: 'roomcast_broker_entries_unused_total',
  // Lingering bindings (issue 33): bind and unbind operations made, summed.
  bindingChanges: 'roomcast_room_binding_changes_total',
};
/** What counters() sums: ROOMCAST_COUNTERS' keys (0 for a Socket.IO system but the first two). */
const COUNTER_KEYS = Object.keys(ROOMCAST_COUNTERS);

/** One gateway's ROOMCAST_COUNTERS, by key (0 for one its build does not export). */
export async function roomcastCounters(url) {
  const c = await readMetrics(url, Object.values(ROOMCAST_COUNTERS));
  return Object.fromEntries(COUNTER_KEYS.map((key) => [key, c[ROOMCAST_COUNTERS[key]] || 0]));
}

/**
 * Presence, stats and 3 gateways (libs/testing's cluster), each under the memory probe; with
 * `redisCluster`, on a Redis Cluster the harness starts for them and stops with them.
 */
async function startRoomcast({ id, probeDir, gatewayArgs, redisCluster, root, env = {} }) {
  const cluster = await startCluster({
    label: 'bench',
    prefix: id,
    gateways: 3,
    redisCluster,
    root,
    env: { NODE_ENV: 'development', BENCH_PROBE_DIR: probeDir, ...env },
    // As deployed: the default linger (the test harness runs 0), or UNBIND_LINGER_MS given.
    gatewayEnv: { ...LIFTED_LIMITS, UNBIND_LINGER_MS: process.env.UNBIND_LINGER_MS ?? '5000' },
    nodeArgs: (name) => [
      ...PROBE_ARGS,
      ...(name.startsWith('gateway') ? (gatewayArgs[Number(name.slice(7)) - 1] ?? []) : []),
    ],
    keepLogs: KEEP_LOGS,
  });
  const named = (name, service) => ({ name, pid: service.child.pid, ...service });
  const gateways = cluster.gateways.map((g, i) => named(`gateway${i + 1}`, g));
  const procs = [named('presence', cluster.presence), named('api', cluster.api), ...gateways];
  try {
    // Serving load needs the gateways' Redis and broker, not only a live process.
    await Promise.all(
      gateways.map((g) => waitServing(g, `${g.url}/ready`, 30000, `${g.name} at ${g.url}/ready`)),
    );
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  // The Redis Cluster's nodes are part of C's cost, as the shared redis-server is of O's.
  const redisNodes = (cluster.redisCluster?.nodes ?? []).map((n, i) => ({
    name: `redis${i + 1}`,
    pid: n.pid,
    port: n.port,
  }));
  return { procs, instances: gateways, redisNodes, stop: () => cluster.stop() };
}

/** N instances of bench/server.mjs on one adapter. */
async function startSocketIo({ kind, id, probeDir, redisUrl, gatewayArgs }) {
  const adapter = { U: 'memory', A: 'redis', B: 'sharded', S: 'streams' }[kind];
  const procs = [];
  const stop = async () => {
    for (const p of procs) killGroup(p.child, 'SIGKILL');
    await Promise.all(procs.map((p) => exited(p.child)));
    // A and B leave nothing in Redis (pub/sub); S leaves its stream and any session kept for a
    // client that went away, all under the run's prefix.
    if (adapter === 'streams') await dropKeys(redisUrl, id);
  };
  try {
    for (let i = 0; i < SYSTEMS[kind].instances; i++) {
      const port = await freePort();
      const name = `server${i + 1}`;
      const proc = spawnGroup(
        process.execPath,
        [...PROBE_ARGS, ...(gatewayArgs[i] ?? []), SERVER],
        {
          env: {
            ADAPTER: adapter,
            PORT: String(port),
            INSTANCE_ID: `${id}-s${i + 1}`,
            REDIS_URL: redisUrl,
            CHANNEL_PREFIX: id,
            BENCH_PROBE_DIR: probeDir,
          },
          keepLogs: KEEP_LOGS,
        },
      );
      procs.push({ name, pid: proc.child.pid, url: `http://127.0.0.1:${port}`, ...proc });
    }
    await Promise.all(
      procs.map((p) => waitServing(p, `${p.url}/health`, 30000, `${p.name} at ${p.url}/health`)),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { procs, instances: procs, stop };
}

/** Unlinks the keys under `prefix` on the Redis at `redisUrl` (SCAN, not KEYS: it is shared). */
async function dropKeys(redisUrl, prefix) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Starts system `kind` (U, A, B, S, O or C). Returns { kind, urls: one per instance, procs: the
 * processes that count as its cost ({ name, pid }), memory(): the socket-holding processes',
 * counters(): broker deliveries and unused ones summed over instances, stop() }. `env`: more
 * environment for roomcast's services (ROOM_RULES, say); the Socket.IO servers take none.
 */
export async function startSystem(
  kind,
  { runId, redisUrl, infra, gatewayArgs = {}, before, env = {} },
) {
  // Checked before starting anything: a system whose cost cannot be read in full is not run.
  if (kind !== 'U' && kind !== 'C' && !infra.redisPid) {
    throw new Error('redis-server process not found: CPU would be incomplete');
  }
  if (ROOMCAST.includes(kind) && !infra.beamPid) {
    throw new Error('RabbitMQ (beam.smp) not found: CPU would be incomplete');
  }
  const probeDir = mkdtempSync(join(tmpdir(), `roomcast-bench-probe-`));
  const id = `bench-${runId}-${kind}`;
  let started;
  try {
    started = ROOMCAST.includes(kind)
      ? await startRoomcast({
          id,
          probeDir,
          gatewayArgs,
          redisCluster: kind === 'C' ? REDIS_CLUSTER : undefined,
          root: kind === 'P' ? before : undefined,
          env,
        })
      : await startSocketIo({ kind, id, probeDir, redisUrl, gatewayArgs });
  } catch (err) {
    rmSync(probeDir, { recursive: true, force: true });
    throw err;
  }
  const { procs, instances, redisNodes = [] } = started;

  const costProcs = procs.map(({ name, pid }) => ({ name, pid }));
  if (kind === 'C') costProcs.push(...redisNodes.map(({ name, pid }) => ({ name, pid })));
  else if (kind !== 'U') costProcs.push({ name: 'redis', pid: infra.redisPid });
  if (ROOMCAST.includes(kind)) costProcs.push({ name: 'rabbitmq', pid: infra.beamPid });

  return {
    kind,
    id,
    urls: instances.map((i) => i.url),
    procs: costProcs,
    logs: () => procs.map((p) => `--- ${p.name}\n${p.logs.join('').slice(-3000)}`).join('\n'),
    alive: () => procs.every((p) => p.child.exitCode === null && p.child.signalCode === null),

    /**
     * Broker deliveries to the instances and how many found no local member; for roomcast also
     * its batching counters (ROOMCAST_COUNTERS), summed over the gateways.
     */
    async counters() {
      const sum = Object.fromEntries(COUNTER_KEYS.map((key) => [key, 0]));
      for (const inst of instances) {
        if (ROOMCAST.includes(kind)) {
          const c = await roomcastCounters(inst.url);
          for (const key of COUNTER_KEYS) sum[key] += c[key];
        } else {
          const c = await (await fetch(`${inst.url}/bench`)).json();
          sum.deliveries += c.brokerDeliveries;
          sum.unused += c.brokerUnused;
        }
      }
      return sum;
    },

    /** used_memory of the Redis the system writes to (summed over a cluster's nodes). */
    async redisMemory() {
      const urls = redisNodes.length
        ? redisNodes.map((n) => `redis://127.0.0.1:${n.port}`)
        : [redisUrl];
      let sum = 0;
      for (const url of urls) sum += await redisUsedMemory(url);
      return sum;
    },

    /** Full-GC memory of the socket-holding processes: [{ name, rss, heapUsed, ... }]. */
    async memory() {
      const out = [];
      for (const p of instances)
        out.push({ name: p.name, ...(await probeMemory(p.pid, probeDir)) });
      return out;
    },

    /** Asks a process to exit cleanly (process.exit(0), so --cpu-prof writes its profile). */
    async exitCleanly(name) {
      const p = procs.find((x) => x.name === name);
      writeFileSync(join(probeDir, `${p.pid}.cmd`), 'exit');
      process.kill(p.pid, 'SIGWINCH');
      await Promise.race([exited(p.child), sleep(10000)]);
    },

    async stop() {
      try {
        await started.stop();
      } finally {
        rmSync(probeDir, { recursive: true, force: true });
      }
    },
  };
}
