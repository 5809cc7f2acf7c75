// The systems under test: how to start each, which processes make up its cost, how to read its
// broker counters, and how to stop it and remove what it left in Redis and RabbitMQ.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import amqp from 'amqplib';
import Redis from 'ioredis';

export const ROOT = resolve(import.meta.dirname, '../..');
const PROBE = join(ROOT, 'bench/probe.cjs');
const SERVER = join(ROOT, 'bench/server.mjs');

export const SYSTEMS = {
  U: { label: 'U: Socket.IO, in-memory adapter (1 process)', instances: 1 },
  A: { label: 'A: Socket.IO + redis-adapter createAdapter (3)', instances: 3 },
  B: { label: 'B: Socket.IO + createShardedAdapter dynamic (3)', instances: 3 },
  O: { label: 'O: roomcast (3 gateways + presence + stats)', instances: 3 },
};

/** Every process the benchmark starts, so an abort can kill them all (by process group). */
const started = new Set();

export function killAll() {
  for (const child of started) killGroup(child, 'SIGKILL');
}

function killGroup(child, signal) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => child.once('exit', () => res()));
}

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it is truthy, for at most `ms`. */
export async function waitFor(check, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function spawnNode(name, args, env, probeDir) {
  const child = spawn(process.execPath, ['--expose-gc', '-r', PROBE, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, BENCH_PROBE_DIR: probeDir },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  const logs = [];
  const keep = (d) => {
    logs.push(d.toString());
    if (logs.length > 200) logs.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { name, child, pid: child.pid, logs };
}

async function waitHealthy(proc, url, ms = 30000) {
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) {
        throw new Error(`${proc.name} exited: ${proc.logs.join('').slice(-2000)}`);
      }
      return (await fetch(url)).ok;
    },
    ms,
    `${proc.name} at ${url}`,
  );
}

function parseCounter(text, name) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

/**
 * Starts system `kind` (U, A, B or O). Returns { kind, urls: one per instance, procs: the
 * processes that count as its cost ({ name, pid }), nodeProcs: the ones holding sockets (for
 * memory), counters(): broker deliveries and unused ones summed over instances, stop() }.
 */
export async function startSystem(kind, { runId, redisUrl, amqpUrl, infra, gatewayArgs = {} }) {
  const probeDir = mkdtempSync(join(tmpdir(), `roomcast-bench-probe-`));
  const procs = [];
  const id = `bench-${runId}-${kind}`;
  const instances = [];
  let cleanup = async () => undefined;
  try {
    if (kind === 'O') {
      const env = {
        AMQP_URL: amqpUrl,
        REDIS_URL: redisUrl,
        EXCHANGE: `${id}.events`,
        REDIS_PREFIX: `${id}:`,
        PRESENCE_QUEUE: `${id}.presence`,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'development',
      };
      cleanup = () => dropRoomcastState({ redisUrl, amqpUrl, ...env });
      const main = (app) => join(ROOT, 'dist/apps', app, 'src/main.js');
      for (const app of ['gateway', 'presence', 'stats']) {
        if (!existsSync(main(app))) throw new Error(`${main(app)} missing: run npm run build`);
      }
      const presencePort = await freePort();
      const presence = spawnNode(
        'presence',
        [main('presence')],
        { ...env, PORT: presencePort },
        probeDir,
      );
      procs.push(presence);
      const statsPort = await freePort();
      const stats = spawnNode('stats', [main('stats')], { ...env, PORT: statsPort }, probeDir);
      procs.push(stats);
      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        const extra = gatewayArgs[i] ?? [];
        const gw = spawnNode(
          `gateway${i + 1}`,
          [...extra, main('gateway')],
          {
            ...env,
            PORT: port,
            INSTANCE_ID: `${id}-g${i + 1}`,
            // Load, not abuse: lift the per-connection and per-address limits for the run.
            RATE_LIMIT_PER_SEC: '100000',
            RATE_LIMIT_BURST: '200000',
            RATE_LIMIT_EVENTS_PER_SEC: '100000',
            RATE_LIMIT_EVENTS_BURST: '200000',
            MAX_CONNECTIONS_PER_IP: '1000000',
          },
          probeDir,
        );
        gw.url = `http://127.0.0.1:${port}`;
        procs.push(gw);
        instances.push(gw);
      }
      await Promise.all([
        waitHealthy(presence, `http://127.0.0.1:${presencePort}/health`),
        waitHealthy(stats, `http://127.0.0.1:${statsPort}/health`),
        ...instances.map((gw) => waitHealthy(gw, `${gw.url}/ready`)),
      ]);
      await waitFor(
        async () => {
          const s = await (await fetch(`http://127.0.0.1:${statsPort}/stats`)).json();
          return s.instances?.length === 3;
        },
        15000,
        'the 3 gateways in /stats',
      );
    } else {
      const adapter = { U: 'memory', A: 'redis', B: 'sharded' }[kind];
      const n = SYSTEMS[kind].instances;
      for (let i = 0; i < n; i++) {
        const port = await freePort();
        const srv = spawnNode(
          `server${i + 1}`,
          [...(gatewayArgs[i] ?? []), SERVER],
          {
            ADAPTER: adapter,
            PORT: port,
            INSTANCE_ID: `${id}-s${i + 1}`,
            REDIS_URL: redisUrl,
            CHANNEL_PREFIX: id,
          },
          probeDir,
        );
        srv.url = `http://127.0.0.1:${port}`;
        procs.push(srv);
        instances.push(srv);
      }
      await Promise.all(instances.map((s) => waitHealthy(s, `${s.url}/health`)));
    }
  } catch (err) {
    for (const p of procs) killGroup(p.child, 'SIGKILL');
    await Promise.all(procs.map((p) => exited(p.child)));
    await cleanup().catch(() => undefined);
    rmSync(probeDir, { recursive: true, force: true });
    throw err;
  }

  const costProcs = procs.map(({ name, pid }) => ({ name, pid }));
  if (kind !== 'U') {
    if (!infra.redisPid) throw new Error('redis-server process not found: CPU would be incomplete');
    costProcs.push({ name: 'redis', pid: infra.redisPid });
  }
  if (kind === 'O') {
    if (!infra.beamPid) throw new Error('RabbitMQ (beam.smp) not found: CPU would be incomplete');
    costProcs.push({ name: 'rabbitmq', pid: infra.beamPid });
  }

  return {
    kind,
    id,
    urls: instances.map((i) => i.url),
    procs: costProcs,
    nodeProcs: instances.map(({ name, pid }) => ({ name, pid })),
    allNodeProcs: procs.map(({ name, pid }) => ({ name, pid })),
    logs: () => procs.map((p) => `--- ${p.name}\n${p.logs.join('').slice(-3000)}`).join('\n'),
    alive: () => procs.every((p) => p.child.exitCode === null && p.child.signalCode === null),

    /** Broker deliveries to the instances and how many found no local member. */
    async counters() {
      let deliveries = 0;
      let unused = 0;
      let gapFilled = 0;
      let duplicatesDropped = 0;
      for (const inst of instances) {
        if (kind === 'O') {
          const text = await (await fetch(`${inst.url}/metrics`)).text();
          deliveries += parseCounter(text, 'roomcast_broker_deliveries_total');
          unused += parseCounter(text, 'roomcast_broker_deliveries_unused_total');
          gapFilled += parseCounter(text, 'roomcast_gap_fill_messages_total');
          duplicatesDropped += parseCounter(text, 'roomcast_duplicates_dropped_total');
        } else {
          const c = await (await fetch(`${inst.url}/bench`)).json();
          deliveries += c.brokerDeliveries;
          unused += c.brokerUnused;
        }
      }
      return { deliveries, unused, gapFilled, duplicatesDropped };
    },

    /** Full-GC memory of the socket-holding processes: [{ name, rss, heapUsed, ... }]. */
    async memory(which = instances) {
      const out = [];
      for (const p of which) {
        const file = join(probeDir, `${p.pid}.mem.json`);
        rmSync(file, { force: true });
        process.kill(p.pid, 'SIGWINCH');
        await waitFor(() => existsSync(file), 10000, `memory probe of ${p.name}`);
        out.push({ name: p.name, ...JSON.parse(readFileSync(file, 'utf8')) });
      }
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
      for (const p of procs) killGroup(p.child, 'SIGKILL');
      await Promise.all(procs.map((p) => exited(p.child)));
      await cleanup();
      rmSync(probeDir, { recursive: true, force: true });
    },
  };
}

/** Deletes a roomcast run's Redis keys, presence queue and exchange. */
async function dropRoomcastState({ redisUrl, amqpUrl, REDIS_PREFIX, EXCHANGE, PRESENCE_QUEUE }) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  const conn = await amqp.connect(amqpUrl);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.deleteQueue(PRESENCE_QUEUE);
    await ch.deleteExchange(EXCHANGE);
    await ch.close().catch(() => undefined);
  } finally {
    await conn.close().catch(() => undefined);
  }
}
