// Binding churn: how many queue.bind + queue.unbind per second the broker takes before the
// latency of joins and leaves grows.
//   gateways  real gateways, presence and stats; churning clients spread over 3 gateways join a
//             room no one else is in and leave it again (the first local join binds the room on
//             the gateway's queue, the last leave unbinds it: 2 binding ops per cycle), at rising
//             open-loop rates; join and leave ack latency, and every process's CPU per cycle.
//             A control at the same rates joins rooms that stay bound (an anchor member of each
//             on every gateway): the difference is what the bindings cost.
//   raw       amqplib alone: bind + unbind of fresh routing keys on one exclusive queue, one call
//             at a time per channel (as a gateway's one channel does), on 1 and 3 channels, with
//             0 and 10,000 bindings already on the queue: ops/s, latency, broker CPU per op.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import amqplib from 'amqplib';
import { connectClient } from '../harness.mjs';
import { fmt, fmtRate, log } from '../log.mjs';
import { round, roundedSummary as summary } from '../stats.mjs';
import { cpuWindow, startServices } from './common.mjs';

const CLIENTS_PER_GATEWAY = 100;
const ANCHOR_ROOMS = 60;
/** Bindings already on the queue in the raw measure's second case. */
const HELD = 10000;

/** Open-loop cycles (join a room, then leave it) at `rate`/s for `durationMs`. */
async function churnStep(clients, rate, durationMs, roomFor) {
  const free = [...clients];
  const joins = [];
  const leaves = [];
  let started = 0;
  let skipped = 0;
  let errors = 0;
  let lastError;
  const inFlight = new Set();
  const cycle = async (c, k) => {
    const room = roomFor(k, c);
    const t0 = performance.now();
    const j = await c.ack('room:join', { room }, 10000);
    if (!j.ok) throw new Error(`join: ${JSON.stringify(j)}`);
    const t1 = performance.now();
    joins.push(t1 - t0);
    const l = await c.ack('room:leave', { room }, 10000);
    if (!l.ok) throw new Error(`leave: ${JSON.stringify(l)}`);
    leaves.push(performance.now() - t1);
  };
  const t0 = performance.now();
  await new Promise((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      if (elapsed >= durationMs) return resolve();
      const due = Math.floor((rate * elapsed) / 1000) - started - skipped;
      for (let i = 0; i < due; i++) {
        const c = free.pop();
        if (!c) {
          // Every client is busy: the rate is not offered (the step then fails).
          skipped++;
          continue;
        }
        const p = cycle(c, started++)
          .catch((err) => {
            errors++;
            lastError = err.message;
          })
          .finally(() => {
            inFlight.delete(p);
            free.unshift(c);
          });
        inFlight.add(p);
      }
      setTimeout(tick, 2);
    };
    tick();
  });
  const windowS = (performance.now() - t0) / 1000;
  await Promise.race([Promise.all([...inFlight]), sleep(15000)]);
  return {
    windowS,
    cycles: started,
    skipped,
    errors,
    lastError,
    join: summary(joins),
    leave: summary(leaves),
  };
}

/**
 * The rate sweep through real gateways on one broker deployment. `amqpUrlFor(name)` gives each
 * service its node; `brokerProcs` are the broker's beam.smp processes ({ name: 'rabbit...', pid }).
 */
async function gatewaySweep({ label, prefix, amqpUrlFor, cleanupAmqpUrl, brokerProcs, cfg }) {
  const services = await startServices({ prefix, gateways: 3, amqpUrlFor, cleanupAmqpUrl });
  const clients = [];
  const anchors = [];
  try {
    for (let i = 0; i < 3 * CLIENTS_PER_GATEWAY; i++) {
      clients.push(await connectClient(services.gateways[i % 3].url, `churn${i}`));
    }
    // The control's rooms stay bound: one anchor member of each on every gateway.
    const anchorRooms = Array.from({ length: ANCHOR_ROOMS }, (_, i) => `${prefix}-a${i}`);
    for (const g of services.gateways) {
      const a = await connectClient(g.url, `anchor-${g.name}`);
      anchors.push(a);
      for (const room of anchorRooms) {
        const ack = await a.ack('room:join', { room });
        if (!ack.ok) throw new Error(`anchor join: ${JSON.stringify(ack)}`);
      }
    }
    const procs = [
      ...services.gateways.map((g) => ({ name: g.name, pid: g.pid })),
      { name: 'presence', pid: services.presence.pid },
      { name: 'redis', pid: cfg.infra.redisPid },
      ...brokerProcs,
    ];
    const steps = [];
    let fresh = 0;
    const run = async (mode, rate) => {
      const roomFor =
        mode === 'fresh'
          ? () => `${prefix}-f${fresh++}`
          : (k) => anchorRooms[(k * 7) % anchorRooms.length];
      await sleep(500);
      const w = await cpuWindow(procs, () => churnStep(clients, rate, cfg.stepMs, roomFor));
      const s = w.value;
      const cycles = s.cycles;
      const step = {
        mode,
        offeredCyclesPerSec: rate,
        cyclesPerSec: round(cycles / s.windowS, 1),
        bindOpsPerSec: mode === 'fresh' ? round((2 * cycles) / s.windowS, 1) : 0,
        skipped: s.skipped,
        errors: s.errors,
        lastError: s.lastError,
        join: s.join,
        leave: s.leave,
        brokerCores: w.cores('rabbit'),
        brokerUsPerCycle: w.per('rabbit', cycles),
        gatewaysUsPerCycle: w.per('gateway', cycles),
        presenceUsPerCycle: w.per('presence', cycles),
        redisUsPerCycle: w.per('redis', cycles),
        perBroker: w.perProcessCores(brokerProcs),
      };
      step.pass =
        s.errors === 0 &&
        s.skipped === 0 &&
        step.cyclesPerSec >= 0.95 * rate &&
        s.join.p99 !== null &&
        s.join.p99 <= cfg.p99LimitMs &&
        s.leave.p99 <= cfg.p99LimitMs;
      steps.push(step);
      log(
        `  ${label} ${mode} ${rate}/s: ${step.cyclesPerSec} cycles/s, join p50/p99 ${fmt(s.join.p50)}/${fmt(s.join.p99)} ms, ` +
          `leave ${fmt(s.leave.p50)}/${fmt(s.leave.p99)} ms, broker ${fmt(step.brokerCores, 2)} cores ` +
          `(${fmt(step.brokerUsPerCycle, 0)} µs/cycle), skipped ${s.skipped}, errors ${s.errors} → ${step.pass ? 'ok' : 'over'}`,
      );
      return step;
    };
    let best = null;
    let failed = null;
    for (const rate of cfg.rates) {
      const f = await run('fresh', rate);
      if (cfg.control) await run('bound', rate);
      if (!f.pass) {
        failed = f;
        break;
      }
      best = f;
    }
    return {
      label,
      p99LimitMs: cfg.p99LimitMs,
      stepMs: cfg.stepMs,
      steps,
      best: best && {
        cyclesPerSec: best.cyclesPerSec,
        bindOpsPerSec: best.bindOpsPerSec,
        joinP99: best.join.p99,
        leaveP99: best.leave.p99,
        brokerCores: best.brokerCores,
      },
      firstOver: failed && {
        offeredCyclesPerSec: failed.offeredCyclesPerSec,
        cyclesPerSec: failed.cyclesPerSec,
        joinP99: failed.join.p99,
        leaveP99: failed.leave.p99,
        skipped: failed.skipped,
        errors: failed.errors,
      },
    };
  } finally {
    for (const c of [...clients, ...anchors]) c.close();
    await services.stop();
  }
}

/**
 * amqplib alone: bind + unbind of fresh keys on one exclusive queue for `durationMs`, one call at a
 * time on each of `channels` channels, after `existing` bindings were put on the queue.
 */
async function rawBinds({ url, brokerProcs, channels, existing, durationMs, prefix }) {
  const conn = await amqplib.connect(url);
  try {
    const setup = await conn.createChannel();
    const exchange = `${prefix}.raw-ex`;
    await setup.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    const { queue } = await setup.assertQueue('', { exclusive: true, autoDelete: true });
    for (let i = 0; i < existing; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, existing - i) }, (_, k) =>
          setup.bindQueue(queue, exchange, `room.held-${i + k}`),
        ),
      );
    }
    const chans = await Promise.all(Array.from({ length: channels }, () => conn.createChannel()));
    const lat = [];
    let ops = 0;
    const w = await cpuWindow(brokerProcs, async () => {
      const until = performance.now() + durationMs;
      await Promise.all(
        chans.map(async (ch, c) => {
          for (let k = 0; performance.now() < until; k++) {
            const key = `room.raw-${c}-${k}`;
            let t = performance.now();
            await ch.bindQueue(queue, exchange, key);
            lat.push(performance.now() - t);
            t = performance.now();
            await ch.unbindQueue(queue, exchange, key);
            lat.push(performance.now() - t);
            ops += 2;
          }
        }),
      );
    });
    await setup.deleteExchange(exchange).catch(() => undefined);
    return {
      channels,
      existing,
      opsPerSec: round(ops / w.wallS, 0),
      op: summary(lat),
      brokerCores: w.cores('rabbit'),
      brokerUsPerOp: w.per('rabbit', ops),
    };
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** The raw measure's grid on one deployment, `repeats` times. */
async function rawGrid({ label, url, brokerProcs, repeats, durationMs, prefix }) {
  const out = [];
  for (let r = 0; r < repeats; r++) {
    for (const channels of [1, 3]) {
      for (const existing of [0, HELD]) {
        const m = await rawBinds({
          url,
          brokerProcs,
          channels,
          existing,
          durationMs,
          prefix: `${prefix}-${r}-${channels}-${existing}`,
        });
        out.push({ round: r, ...m });
        log(
          `  raw binds ${label}, ${channels} channel(s), ${existing} held: ${fmtRate(m.opsPerSec)} ops/s, ` +
            `op p50/p99 ${fmt(m.op.p50, 2)}/${fmt(m.op.p99, 2)} ms, broker ${fmt(m.brokerUsPerOp, 0)} µs/op`,
        );
      }
    }
  }
  return { label, rows: out };
}

/**
 * Both measures on one deployment: `target` is { label, urls: per service name, url: for the raw
 * measure, cleanupAmqpUrl, brokerProcs }.
 */
export async function measureChurn(target, cfg) {
  const out = { label: target.label, gateway: [], raw: null };
  for (let r = 0; r < cfg.repeats; r++) {
    try {
      out.gateway.push(
        await gatewaySweep({
          label: `${target.label} r${r + 1}`,
          prefix: `${cfg.prefix}-${target.key}${r}`,
          amqpUrlFor: target.amqpUrlFor,
          cleanupAmqpUrl: target.cleanupAmqpUrl,
          brokerProcs: target.brokerProcs,
          cfg,
        }),
      );
    } catch (err) {
      out.gateway.push({ error: String(err?.stack ?? err) });
      log(`  churn ${target.label}: ERROR ${err.message}`);
    }
  }
  try {
    out.raw = await rawGrid({
      label: target.label,
      url: target.rawUrl,
      brokerProcs: target.brokerProcs,
      repeats: cfg.repeats,
      durationMs: cfg.rawMs,
      prefix: `${cfg.prefix}-${target.key}`,
    });
  } catch (err) {
    out.raw = { error: String(err?.stack ?? err) };
    log(`  raw binds ${target.label}: ERROR ${err.message}`);
  }
  return out;
}
