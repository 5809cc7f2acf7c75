// What every part of the scaling sweep shares: CPU windows over named processes, the beam.smp of
// each RabbitMQ node (the machine's or a cluster's), open file descriptors, and services started
// one by one with an environment each (so each can reach a different node of a RabbitMQ cluster).
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LIFTED_LIMITS } from '../constants.mjs';
import {
  dropRunState,
  exited,
  startService,
  stopService,
  waitFor,
  waitServing,
} from '../harness.mjs';
import { cpuDelta, snapshotCpu, sumUs } from '../proc.mjs';
import { round } from '../stats.mjs';

/**
 * Runs `fn` with the named processes' CPU read around it: { value, wallS, us: {name: µs},
 * cores(prefix, d): the cores of the processes named `prefix`..., per(prefix, n, d): their µs per
 * one of `n` (null when n is 0), perProcessCores(procs) }, figures rounded to `d` decimals.
 */
export async function cpuWindow(procs, fn) {
  const a = snapshotCpu(procs);
  const t0 = performance.now();
  const value = await fn();
  const wallS = (performance.now() - t0) / 1000;
  const { per: us } = cpuDelta(a, snapshotCpu(procs));
  const cores = (prefix, d = 3) => round(sumUs(us, prefix) / 1e6 / wallS, d);
  return {
    value,
    wallS,
    us,
    cores,
    per: (prefix, n, d = 1) => (n ? round(sumUs(us, prefix) / n, d) : null),
    perProcessCores: (ps) => Object.fromEntries(ps.map((p) => [p.name, cores(p.name)])),
  };
}

/**
 * The beam.smp of each node of a cluster started with startRabbitCluster, as
 * [{ name: 'rabbit1', pid }]: its environment names the node (RABBITMQ_NODENAME), its command
 * line does not.
 */
export function clusterBeams(rc) {
  const beams = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('beam.smp')) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const node = env.find((e) => e.startsWith('RABBITMQ_NODENAME='))?.slice(18);
      const i = rc.nodes.findIndex((n) => n.name === node);
      if (i >= 0) beams.push({ name: `rabbit${i + 1}`, pid: Number(entry) });
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  if (beams.length !== rc.nodes.length) {
    throw new Error(`found ${beams.length} beam.smp of ${rc.nodes.length} RabbitMQ nodes`);
  }
  return beams.sort((x, y) => x.name.localeCompare(y.name));
}

/** Open file descriptors of a process (sockets included). */
export function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/**
 * Presence, stats and gateways as real processes on an exchange, presence queue and Redis prefix
 * of `prefix`, each service with an AMQP_URL of its own (`amqpUrlFor(name)`), so that on a
 * RabbitMQ cluster the gateways can sit on different nodes. `stop()` kills them and removes what
 * they created in Redis and, through `cleanupAmqpUrl`, in the broker.
 */
export async function startServices({
  prefix,
  gateways = 3,
  amqpUrlFor,
  cleanupAmqpUrl,
  env = {},
  gatewayEnv = {},
  presenceEnv = {},
  nodeArgs = () => [],
}) {
  const common = {
    EXCHANGE: `${prefix}.events`,
    REDIS_PREFIX: `${prefix}:`,
    PRESENCE_QUEUE: `${prefix}.presence`,
    NODE_ENV: 'development',
    ...env,
  };
  const started = [];
  const stop = async () => {
    for (const s of started) stopService(s, 'SIGKILL');
    await Promise.all(started.map((s) => exited(s.child)));
    await dropRunState({
      redisPrefix: common.REDIS_PREFIX,
      exchange: common.EXCHANGE,
      queues: [common.PRESENCE_QUEUE],
      amqpUrl: cleanupAmqpUrl,
    }).catch((err) => process.stderr.write(`[scaling] clean-up: ${err.message}\n`));
  };
  const start = async (app, name, extra) => {
    const s = await startService(app, { ...common, AMQP_URL: amqpUrlFor(name), ...extra }, 30000, {
      nodeArgs: nodeArgs(name),
      keepLogs: 100,
    });
    started.push(s);
    return { name, pid: s.child.pid, ...s };
  };
  try {
    const presence = await start('presence', 'presence', {
      ...presenceEnv,
      INSTANCE_ID: `${prefix}-p1`,
    });
    const stats = await start('api', 'api', {});
    const gws = [];
    for (let i = 0; i < gateways; i++) {
      gws.push(
        await start('gateway', `gateway${i + 1}`, {
          ...LIFTED_LIMITS,
          ...gatewayEnv,
          INSTANCE_ID: `${prefix}-g${i + 1}`,
        }),
      );
    }
    await Promise.all(gws.map((g) => waitServing(g, `${g.url}/ready`, 30000, `${g.name} ready`)));
    const getStats = async () => (await fetch(`${stats.url}/stats`)).json();
    await waitFor(
      async () => (await getStats()).instances.length === gateways,
      15000,
      'every gateway in /stats',
    );
    return { prefix, env: common, presence, stats, gateways: gws, getStats, stop };
  } catch (err) {
    const said = started.map((s) => `--- ${s.app}\n${s.logs.join('').slice(-1500)}`).join('\n');
    await stop();
    err.message += `\n${said}`;
    throw err;
  }
}

/** Waits until /stats counts `n` connections (after a load generator closed its sockets). */
export async function awaitConnections(services, n, ms = 60000) {
  await waitFor(
    async () => (await services.getStats()).connections === n,
    ms,
    `${n} connections in /stats`,
    200,
  );
  await sleep(500);
}
