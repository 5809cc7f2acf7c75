#!/usr/bin/env node
// roomcast benchmark: `npm run bench` (full run, writes docs/benchmarks/) or
// `npm run bench -- --smoke` (seconds, tiny workloads, for CI). See docs/benchmarks/README.md.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { cpuDelta, findInfrastructure, machineMicros, snapshotCpu } from './lib/proc.mjs';
import { writeReport } from './lib/report.mjs';
import { ROOT, SYSTEMS, killAll, startSystem } from './lib/systems.mjs';
import { FULL, SMOKE, layout } from './lib/workloads.mjs';
import { runProfile } from './lib/profile.mjs';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    systems: { type: 'string' },
    workloads: { type: 'string' },
    repeats: { type: 'string' },
    rate: { type: 'string' },
    'warmup-ms': { type: 'string' },
    'measure-ms': { type: 'string' },
    sweep: { type: 'string' },
    'step-ms': { type: 'string' },
    'sweep-start': { type: 'string' },
    'sweep-factor': { type: 'string' },
    'sweep-max': { type: 'string' },
    'p99-limit-ms': { type: 'string' },
    'idle-per-instance': { type: 'string' },
    out: { type: 'string' },
    'time-limit-s': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(`usage: npm run bench -- [options]
  --smoke                 a few seconds, tiny workloads; exit 1 on a harness failure or any
                          lost, duplicated or out-of-order delivery (for CI)
  --profile               CPU-profile one roomcast gateway (node --cpu-prof) under W1 and W2
  --systems U,A,B,O       systems to run (default all)
  --workloads W1,...,W5   workloads (default all)
  --repeats N             rounds; systems interleaved in each (default 3)
  --rate N                fixed load, deliveries/s (default 10000)
  --warmup-ms, --measure-ms   fixed-load phases (default 1500, 5000)
  --sweep W2              workloads that also search the highest rate with p99 <= limit
                          (default W2; "none" to skip)
  --step-ms N             length of each sweep step (default 3000)
  --sweep-start N --sweep-factor F --sweep-max N   sweep rates (5000, 1.5, 150000)
  --p99-limit-ms N        sweep's latency limit (default 50)
  --idle-per-instance N   W5 connections per instance (default 5000)
  --out DIR               where to write results (default docs/benchmarks; smoke: a temp dir)
  --time-limit-s N        abort the whole run after N s (default 1800; smoke 180)
`);
  process.exit(0);
}

const smoke = args.smoke;
const num = (v, d) => (v === undefined ? d : Number(v));
const list = (v, d) => (v === undefined ? d : v.split(',').filter(Boolean));
const config = {
  smoke,
  systems: list(args.systems, ['U', 'A', 'B', 'O']),
  workloads: list(args.workloads, ['W1', 'W2', 'W3', 'W4', 'W5']),
  repeats: num(args.repeats, smoke ? 1 : 3),
  rate: num(args.rate, smoke ? 1000 : 10000),
  warmupMs: num(args['warmup-ms'], smoke ? 400 : 1500),
  measureMs: num(args['measure-ms'], smoke ? 1200 : 5000),
  sweep: list(args.sweep, ['W2']).filter((w) => w !== 'none'),
  stepMs: num(args['step-ms'], smoke ? 600 : 3000),
  sweepStart: num(args['sweep-start'], smoke ? 1000 : 5000),
  sweepFactor: num(args['sweep-factor'], 1.5),
  sweepMax: num(args['sweep-max'], smoke ? 1500 : 150000),
  p99LimitMs: num(args['p99-limit-ms'], 50),
  idlePerInstance: args['idle-per-instance'] ? Number(args['idle-per-instance']) : undefined,
  timeLimitS: num(args['time-limit-s'], smoke ? 180 : 1800),
  out: resolve(
    args.out ?? (smoke ? mkdtempSync(join(tmpdir(), 'roomcast-bench-smoke-')) : 'docs/benchmarks'),
  ),
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
};
for (const s of config.systems) if (!SYSTEMS[s]) fail(`unknown system ${s}`);
const defs = smoke ? SMOKE : FULL;
for (const w of config.workloads) if (!defs[w]) fail(`unknown workload ${w}`);

const log = (line) => process.stdout.write(`[bench ${elapsed()}] ${line}\n`);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function fail(message) {
  process.stderr.write(`[bench] ${message}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Loadgen process: one per trial, driven over IPC.

const loadgens = new Set();

function startLoadgen() {
  const child = fork(join(ROOT, 'bench/loadgen.mjs'), [], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  loadgens.add(child);
  const queue = [];
  const waiters = [];
  let dead = null;
  const deliver = (msg) => {
    const i = waiters.findIndex((w) => msg.type === 'error' || w.type === msg.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
    else queue.push(msg);
  };
  child.on('message', deliver);
  child.on('exit', (code, signal) => {
    loadgens.delete(child);
    dead = `load generator exited (${code ?? signal})`;
    for (const w of waiters.splice(0)) w.reject(new Error(dead));
  });
  const next = (type, ms = 120000) =>
    new Promise((res, rej) => {
      const i = queue.findIndex((m) => m.type === 'error' || m.type === type);
      const settle = (msg) => {
        if (msg.type === 'error') rej(new Error(`load generator: ${msg.error}`));
        else res(msg);
      };
      if (i >= 0) return settle(queue.splice(i, 1)[0]);
      if (dead) return rej(new Error(dead));
      const timer = setTimeout(() => rej(new Error(`load generator: no ${type} in ${ms} ms`)), ms);
      waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          settle(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          rej(e);
        },
      });
    });
  return {
    child,
    pid: child.pid,
    send: (msg) => child.send(msg),
    next,
    async exit() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'exit' });
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000)]);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    },
  };
}

function killLoadgens() {
  for (const child of loadgens) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements.

/** Waits until the system's processes are quiet (below 5% of a core), at most `ms`. */
async function settle(sys, ms = 10000) {
  const deadline = Date.now() + ms;
  const mine = sys.procs.filter((p) => p.name !== 'rabbitmq' && p.name !== 'redis');
  while (Date.now() < deadline) {
    const a = snapshotCpu(mine);
    await sleep(300);
    const { total } = cpuDelta(a, snapshotCpu(mine));
    if (total / 300000 < 0.05) return;
  }
}

/** One phase with CPU and broker counters read around its window. */
async function measuredPhase(lg, sys, params) {
  const c0 = await sys.counters();
  lg.send({ type: 'phase', ...params });
  await lg.next('window-start');
  const who = [...sys.procs, { name: 'loadgen', pid: lg.pid }];
  const cpu0 = snapshotCpu(who);
  const m0 = machineMicros();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  await lg.next('window-end', params.durationMs + 60000);
  const cpu1 = snapshotCpu(who);
  const m1 = machineMicros();
  const self1 = process.cpuUsage(self0);
  const wallUs = (performance.now() - t0) * 1000;
  const { result } = await lg.next('result', 120000);
  const c1 = await sys.counters();
  const servers = (snap) =>
    Object.fromEntries(Object.entries(snap).filter(([n]) => n !== 'loadgen'));
  const { per, sys: serverSysUs } = cpuDelta(servers(cpu0), servers(cpu1));
  const loadgenUs = cpuDelta({ l: cpu0.loadgen }, { l: cpu1.loadgen }).total;
  const serverUs = Object.values(per).reduce((a, b) => a + b, 0);
  const machineBusyUs = m1.busy - m0.busy;
  const selfUs = self1.user + self1.system;
  return {
    ...result,
    cpu: {
      wallUs,
      serverUs,
      serverSysUs,
      perProcessUs: per,
      loadgenUs,
      harnessUs: selfUs,
      otherUs: Math.max(0, machineBusyUs - serverUs - loadgenUs - selfUs),
      serverCores: serverUs / wallUs,
      loadgenCores: loadgenUs / wallUs,
      machineCores: machineBusyUs / wallUs,
      serverUsPerDelivery: result.deliveries > 0 ? serverUs / result.deliveries : null,
    },
    broker: {
      deliveries: c1.deliveries - c0.deliveries,
      unused: c1.unused - c0.unused,
      gapFilled: c1.gapFilled - c0.gapFilled,
      duplicatesDropped: c1.duplicatesDropped - c0.duplicatesDropped,
    },
  };
}

function passes(step, offeredDeliveries) {
  return (
    step.latency.p99 !== null &&
    step.latency.p99 <= config.p99LimitMs &&
    step.deliveriesPerSec >= 0.95 * offeredDeliveries &&
    step.lost === 0 &&
    step.ackErrors === 0 &&
    step.unacked === 0
  );
}

async function sweep(lg, sys, lay, churnPerSec) {
  const steps = [];
  let best = null;
  let failed = null;
  const tryRate = async (rate) => {
    const step = await measuredPhase(lg, sys, {
      name: `sweep-${Math.round(rate)}`,
      sendsPerSec: rate / lay.fanout,
      durationMs: config.stepMs,
      churnPerSec,
      drainMs: 1000,
    });
    step.offeredDeliveriesPerSec = rate;
    step.pass = passes(step, rate);
    steps.push(step);
    log(
      `    sweep ${fmtRate(rate)}/s: got ${fmtRate(step.deliveriesPerSec)}/s p99 ${fmt(step.latency.p99)} ms, ` +
        `server ${step.cpu.serverCores.toFixed(2)} cores, loadgen ${step.cpu.loadgenCores.toFixed(2)} → ${step.pass ? 'ok' : 'over'}`,
    );
    return step;
  };
  for (let rate = config.sweepStart; rate <= config.sweepMax; rate *= config.sweepFactor) {
    const step = await tryRate(rate);
    if (!step.pass) {
      failed = step;
      break;
    }
    best = step;
  }
  if (best && failed) {
    const mid = Math.sqrt(best.offeredDeliveriesPerSec * failed.offeredDeliveriesPerSec);
    const step = await tryRate(mid);
    if (step.pass) best = step;
  }
  return {
    steps,
    best: best
      ? {
          offered: best.offeredDeliveriesPerSec,
          deliveriesPerSec: best.deliveriesPerSec,
          p99: best.latency.p99,
          serverCores: best.cpu.serverCores,
          loadgenCores: best.cpu.loadgenCores,
          perCore: best.deliveriesPerSec / best.cpu.serverCores,
        }
      : null,
    // What stopped it: the first rate that failed, and whether the load generator was the limit.
    limit: failed
      ? {
          offered: failed.offeredDeliveriesPerSec,
          p99: failed.latency.p99,
          deliveriesPerSec: failed.deliveriesPerSec,
          loadgenCores: failed.cpu.loadgenCores,
          loadgenElu: failed.loadgenElu,
          machineCores: failed.cpu.machineCores,
        }
      : null,
  };
}

async function redisUsedMemory() {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)[1]);
  } finally {
    redis.disconnect();
  }
}

async function idleTrial(sys, wName, round) {
  const w = { ...defs[wName] };
  if (config.idlePerInstance) w.idlePerInstance = config.idlePerInstance;
  const lay = layout(w, sys.urls, `${sys.id}-${round}${wName}`);
  await settle(sys);
  const before = await sys.memory(sys.nodeProcs);
  const redis0 = await redisUsedMemory();
  const lg = startLoadgen();
  try {
    await lg.next('hello');
    lg.send({ type: 'idle', tag: `${sys.kind}${round}${wName}`, members: lay.members });
    const ready = await lg.next('ready', 300000);
    await sleep(1000);
    await settle(sys);
    const after = await sys.memory(sys.nodeProcs);
    const redis1 = await redisUsedMemory();
    const n = lay.members.length;
    const sum = (arr, k) => arr.reduce((a, m) => a + m[k], 0);
    const final = await finalCheck(lg);
    return {
      connections: n,
      perInstance: w.idlePerInstance,
      connectMs: ready.connectMs,
      heapPerConn: (sum(after, 'heapUsed') - sum(before, 'heapUsed')) / n,
      rssPerConn: (sum(after, 'rss') - sum(before, 'rss')) / n,
      redisPerConn: (redis1 - redis0) / n,
      before,
      after,
      final,
    };
  } finally {
    await lg.exit();
  }
}

async function finalCheck(lg) {
  lg.send({ type: 'final', waitMs: 5000 });
  return (await lg.next('final', 60000)).result;
}

async function loadTrial(sys, wName, round) {
  const w = defs[wName];
  const tag = `${sys.kind}${round}${wName}`;
  const lay = layout(w, sys.urls, tag);
  await settle(sys);
  const lg = startLoadgen();
  try {
    await lg.next('hello');
    lg.send({ type: 'setup', tag, members: lay.members, churn: lay.churn });
    const ready = await lg.next('ready', 300000);
    const churnPerSec = lay.churn?.perSec ?? 0;
    const sendsPerSec = config.rate / lay.fanout;
    const warm = await measuredPhase(lg, sys, {
      name: 'warmup',
      sendsPerSec,
      durationMs: config.warmupMs,
      churnPerSec,
      drainMs: 2000,
    });
    const fixed = await measuredPhase(lg, sys, {
      name: 'fixed',
      sendsPerSec,
      durationMs: config.measureMs,
      churnPerSec,
      drainMs: 3000,
    });
    const sw = config.sweep.includes(wName) ? await sweep(lg, sys, lay, churnPerSec) : undefined;
    const final = await finalCheck(lg);
    return {
      setup: { ...ready, fanout: lay.fanout, sendsPerSec },
      warmupOk: warm.lost === 0 && warm.dup === 0 && warm.ooo === 0,
      fixed,
      sweep: sw,
      final,
    };
  } finally {
    await lg.exit();
  }
}

function problems(trial) {
  const out = [];
  if (trial.error) out.push(`harness: ${trial.error.split('\n')[0]}`);
  const f = trial.final;
  if (f) {
    for (const k of ['lost', 'dup', 'ooo', 'unacked', 'ackErrors', 'churnErrors', 'disconnects']) {
      if (f[k] > 0) out.push(`${k}=${f[k]}`);
    }
    if (f.foreign > 0) out.push(`foreign=${f.foreign}`);
    if (f.lost > 0 && f.lastError) out.push(`last error: ${f.lastError}`);
  }
  if (trial.fixed && trial.fixed.deliveries === 0) out.push('no deliveries in the fixed phase');
  return out;
}

const fmt = (v, d = 1) => (v === null || v === undefined ? '-' : Number(v).toFixed(d));
const fmtRate = (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : `${Math.round(v)}`);

// ---------------------------------------------------------------------------------------------

function reachable(url, port) {
  const u = new URL(url);
  return new Promise((res) => {
    const s = createConnection({ host: u.hostname, port: Number(u.port || port) });
    const done = (ok) => {
      s.destroy();
      res(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function main() {
  const watchdog = setTimeout(() => {
    process.stderr.write(`[bench] time limit of ${config.timeLimitS} s reached: aborting\n`);
    killLoadgens();
    killAll();
    process.exit(3);
  }, config.timeLimitS * 1000);
  watchdog.unref();

  if (!(await reachable(config.redisUrl, 6379)))
    fail(`Redis is not reachable at ${config.redisUrl}`);
  if (!(await reachable(config.amqpUrl, 5672)))
    fail(`RabbitMQ is not reachable at ${config.amqpUrl}`);
  const infra = findInfrastructure(config.redisUrl);
  log(`redis-server pid ${infra.redisPid ?? '?'}, RabbitMQ beam.smp pid ${infra.beamPid ?? '?'}`);

  if (args.profile) {
    await runProfile({ config, infra, defs, startLoadgen, measuredPhase, log });
    return 0;
  }

  mkdirSync(config.out, { recursive: true });
  const runId = Date.now().toString(36);
  const meta = {
    startedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    loadavgStart: loadavg(),
    config: { ...config, out: undefined },
  };
  const trials = [];
  const loadWorkloads = config.workloads.filter((w) => !defs[w].idlePerInstance);
  const idleWorkloads = config.workloads.filter((w) => defs[w].idlePerInstance);
  for (let round = 0; round < config.repeats; round++) {
    // Interleaved: every round runs every system, in an order rotated from round to round.
    const order = config.systems.map((_, i) => config.systems[(i + round) % config.systems.length]);
    for (const kind of order) {
      log(`round ${round + 1}/${config.repeats}: starting ${SYSTEMS[kind].label}`);
      let sys;
      try {
        sys = await startSystem(kind, {
          runId,
          redisUrl: config.redisUrl,
          amqpUrl: config.amqpUrl,
          infra,
        });
      } catch (err) {
        trials.push({ system: kind, workload: '*', round, error: String(err?.stack ?? err) });
        log(`  ${kind} did not start: ${err.message}`);
        continue;
      }
      try {
        // Idle memory first, on fresh processes, so earlier load does not inflate the baseline.
        for (const wName of [...idleWorkloads, ...loadWorkloads]) {
          const trial = { system: kind, workload: wName, round };
          try {
            if (defs[wName].idlePerInstance) trial.idle = await idleTrial(sys, wName, round);
            else Object.assign(trial, await loadTrial(sys, wName, round));
            trial.final = trial.idle?.final ?? trial.final;
          } catch (err) {
            trial.error = String(err?.stack ?? err);
            if (!sys.alive()) trial.error += `\n${sys.logs()}`;
          }
          trials.push(trial);
          log(`  ${kind} ${wName}: ${summarise(trial)}`);
          if (!sys.alive()) {
            log(`  ${kind}: a process died; logs:\n${sys.logs()}`);
            break;
          }
        }
      } finally {
        await sys.stop().catch((err) => log(`  ${kind} clean-up failed: ${err.message}`));
      }
    }
  }
  meta.finishedAt = new Date().toISOString();
  meta.durationS = (performance.now() - started) / 1000;
  meta.loadavgEnd = loadavg();
  const files = await writeReport({ meta, trials, defs, out: config.out, smoke });
  log(`wrote ${files.join(', ')}`);

  const bad = trials.flatMap((t) =>
    problems(t).map((p) => `${t.system} ${t.workload} round ${t.round + 1}: ${p}`),
  );
  if (bad.length) {
    process.stderr.write(`[bench] FAILED:\n  ${bad.join('\n  ')}\n`);
    return 1;
  }
  log(`ok: no lost, duplicated or out-of-order delivery in ${trials.length} trials`);
  return 0;
}

function summarise(t) {
  if (t.error) return `ERROR ${t.error.split('\n')[0]}`;
  if (t.idle) {
    return `${t.idle.connections} idle: heap ${fmt(t.idle.heapPerConn / 1024)} KiB/conn, rss ${fmt(
      t.idle.rssPerConn / 1024,
    )} KiB/conn, connect ${fmt(t.idle.connectMs / 1000)} s`;
  }
  const f = t.fixed;
  const sw = t.sweep?.best ? `, max ${fmtRate(t.sweep.best.deliveriesPerSec)}/s` : '';
  return (
    `${fmtRate(f.deliveriesPerSec)}/s p50 ${fmt(f.latency.p50)} p99 ${fmt(f.latency.p99)} ` +
    `p99.9 ${fmt(f.latency.p999)} ms, ${fmt(f.cpu.serverUsPerDelivery)} µs/delivery, ` +
    `unused ${f.broker.unused}, lost ${t.final.lost} dup ${t.final.dup} ooo ${t.final.ooo}${sw}`
  );
}

const cleanupAndExit = (code) => {
  killLoadgens();
  killAll();
  process.exit(code);
};
process.on('SIGINT', () => cleanupAndExit(130));
process.on('SIGTERM', () => cleanupAndExit(143));

main().then(
  (code) => cleanupAndExit(code),
  (err) => {
    process.stderr.write(`[bench] ${err?.stack ?? err}\n`);
    cleanupAndExit(2);
  },
);
