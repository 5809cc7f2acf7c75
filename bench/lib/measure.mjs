// Measurement around the load generator's phases: CPU of every process in the system (from
// /proc) and of the machine, read at the edges of the load generator's window; the system's
// broker counters around it; the rate sweep; Redis memory; the end-of-trial delivery check.
// Latency percentiles come from the load generator itself (bench/loadgen.mjs).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { fmt, fmtRate, log } from './log.mjs';
import { cpuDelta, machineMicros, snapshotCpu } from './proc.mjs';

/** Waits until the system's processes are quiet (below 5% of a core), at most `ms`. */
export async function settle(sys, ms = 10000) {
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
export async function measuredPhase(lg, sys, params) {
  const c0 = await sys.counters();
  lg.send({ type: 'phase', ...params });
  await lg.next('window-start');
  const who = [...sys.procs, { name: 'loadgen', pid: lg.pid }];
  const cpu0 = snapshotCpu(who);
  const m0 = machineMicros();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  // On the monotonic clock every process shares (a --cpu-prof profile's timestamps, µs).
  const windowStartUs = Number(process.hrtime.bigint() / 1000n);
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
      windowStartUs,
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
    // Counted from before the phase starts to after its drain, so they cover its sends whole.
    broker: {
      ...Object.fromEntries(Object.keys(c1).map((key) => [key, c1[key] - c0[key]])),
      // The phase's chat messages the system accepted: what roomcast's batching is per.
      accepted: result.sent - result.ackErrors - result.unacked,
    },
  };
}

/** The warm-up and the measured window at the run's fixed load (`config.rate` deliveries/s). */
export async function fixedLoad(lg, sys, lay, config) {
  const load = { sendsPerSec: config.rate / lay.fanout, churnPerSec: lay.churn?.perSec ?? 0 };
  const warm = await measuredPhase(lg, sys, {
    name: 'warmup',
    ...load,
    durationMs: config.warmupMs,
    drainMs: 2000,
  });
  const fixed = await measuredPhase(lg, sys, {
    name: 'fixed',
    ...load,
    durationMs: config.measureMs,
    drainMs: 3000,
  });
  return { warm, fixed };
}

/** A sweep step holds when p99 is within the limit and nearly all the offered load arrived. */
function passes(step, offeredDeliveries, config) {
  return (
    step.latency.p99 !== null &&
    step.latency.p99 <= config.p99LimitMs &&
    step.deliveriesPerSec >= 0.95 * offeredDeliveries &&
    step.lost === 0 &&
    step.ackErrors === 0 &&
    step.unacked === 0
  );
}

/**
 * Raises the rate by `sweepFactor` from `sweepStart` until a step fails, then tries the geometric
 * mean of the last good and the first failed rate: the highest rate with p99 <= the limit.
 */
export async function sweep(lg, sys, lay, churnPerSec, config) {
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
    step.pass = passes(step, rate, config);
    steps.push(step);
    log(
      `    sweep ${fmtRate(rate)}/s: got ${fmtRate(step.deliveriesPerSec)}/s p99 ${fmt(step.latency.p99)} ms, ` +
        `${fmt(step.cpu.serverUsPerDelivery)} µs/delivery, server ${step.cpu.serverCores.toFixed(2)} cores, ` +
        `loadgen ${step.cpu.loadgenCores.toFixed(2)} → ${step.pass ? 'ok' : 'over'}`,
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

/** used_memory of one Redis (a system's, or one node of its cluster), for memory per idle connection. */
export async function redisUsedMemory(redisUrl) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)[1]);
  } finally {
    redis.disconnect();
  }
}

/** Totals every check over the trial once stragglers had `waitMs` to arrive. */
export async function finalCheck(lg) {
  lg.send({ type: 'final', waitMs: 5000 });
  return (await lg.next('final', 60000)).result;
}
