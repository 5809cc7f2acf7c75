// Connections per gateway: one gateway (with presence and stats) holding N Socket.IO connections
// from the bench's load generator (bench/loadgen.mjs), for a sweep of N.
//   idle      N connections in no room: memory after a full GC (heap, RSS) against the gateway's
//             own before them, file descriptors, and the CPU of one Socket.IO ping interval
//             (25 s by default: each connection is pinged once in it, whatever its phase).
//   chatting  N connections in rooms of 10 on this gateway, sending at a fixed modest rate:
//             memory with the rooms joined, and CPU per delivery at that size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROBE_ARGS } from '../constants.mjs';
import { AMQP_URL } from '../harness.mjs';
import { connectMembers, withLoadgen } from '../loadgen-client.mjs';
import { fmt, fmtRate, log } from '../log.mjs';
import { measuredPhase } from '../measure.mjs';
import { round } from '../stats.mjs';
import { probeMemory, roomcastCounters } from '../systems.mjs';
import { awaitConnections, cpuWindow, fdCount, startServices } from './common.mjs';

const ROOM_SIZE = 10;

async function idle(services, gw, probeDir, infraProcs, n, windowMs, tag) {
  const before = await probeMemory(gw.pid, probeDir);
  const fds0 = fdCount(gw.pid);
  const members = Array.from({ length: n }, () => ({ url: gw.url }));
  const measure = async (lg) => {
    const ready = await connectMembers(lg, 'idle', { tag, members }, 600000);
    await sleep(2000);
    const after = await probeMemory(gw.pid, probeDir);
    const fds = fdCount(gw.pid);
    const procs = [
      { name: 'gateway', pid: gw.pid },
      { name: 'presence', pid: services.presence.pid },
      ...infraProcs,
      { name: 'loadgen', pid: lg.pid },
    ];
    const w = await cpuWindow(procs, () => sleep(windowMs));
    const gatewayCores = w.cores('gateway', 9);
    return {
      connections: n,
      connectMs: Math.round(ready.connectMs),
      heapUsedMiB: round(after.heapUsed / 2 ** 20),
      rssMiB: round(after.rss / 2 ** 20),
      heapKiBPerConn: round((after.heapUsed - before.heapUsed) / 1024 / n),
      rssKiBPerConn: round((after.rss - before.rss) / 1024 / n),
      fds,
      fdsPerConn: round((fds - fds0) / n, 3),
      windowS: round(w.wallS),
      gatewayCores: round(gatewayCores, 4),
      gatewayCoresPer1k: round(gatewayCores / (n / 1000), 5),
      presenceCores: w.cores('presence', 4),
    };
  };
  try {
    return await withLoadgen(measure);
  } finally {
    await awaitConnections(services, 0);
  }
}

async function chatting(services, gw, probeDir, infraProcs, n, deliveriesPerSec, measureMs, tag) {
  const before = await probeMemory(gw.pid, probeDir);
  const members = Array.from({ length: n }, (_, i) => ({
    url: gw.url,
    room: `${tag}-r${Math.floor(i / ROOM_SIZE)}`,
  }));
  const measure = async (lg) => {
    const ready = await connectMembers(lg, 'setup', { tag, members }, 600000);
    await sleep(2000);
    const after = await probeMemory(gw.pid, probeDir);
    const sys = {
      procs: [
        { name: 'gateway', pid: gw.pid },
        { name: 'presence', pid: services.presence.pid },
        ...infraProcs,
      ],
      counters: () => roomcastCounters(gw.url),
    };
    // A short warm-up first, so the measured window starts with every room's sequencer hot.
    await measuredPhase(lg, sys, {
      name: 'warmup',
      sendsPerSec: deliveriesPerSec / ROOM_SIZE,
      durationMs: 1000,
      drainMs: 1000,
    });
    const p = await measuredPhase(lg, sys, {
      name: 'chat',
      sendsPerSec: deliveriesPerSec / ROOM_SIZE,
      durationMs: measureMs,
      drainMs: 2000,
    });
    const gatewayUs = p.cpu.perProcessUs.gateway;
    return {
      connections: n,
      rooms: Math.ceil(n / ROOM_SIZE),
      setupMs: Math.round(ready.connectMs + ready.joinMs),
      heapKiBPerConn: round((after.heapUsed - before.heapUsed) / 1024 / n),
      rssKiBPerConn: round((after.rss - before.rss) / 1024 / n),
      offeredDeliveriesPerSec: deliveriesPerSec,
      deliveriesPerSec: round(p.deliveriesPerSec, 0),
      p50: round(p.latency.p50),
      p99: round(p.latency.p99),
      lost: p.lost,
      ackErrors: p.ackErrors,
      gatewayCores: round(gatewayUs / p.cpu.wallUs, 4),
      gatewayUsPerDelivery: round(gatewayUs / p.deliveries),
      rabbitUsPerDelivery: round((p.cpu.perProcessUs.rabbitmq ?? 0) / p.deliveries),
      redisUsPerDelivery: round((p.cpu.perProcessUs.redis ?? 0) / p.deliveries),
      presenceUsPerDelivery: round(p.cpu.perProcessUs.presence / p.deliveries),
    };
  };
  try {
    return await withLoadgen(measure);
  } finally {
    await awaitConnections(services, 0);
  }
}

/**
 * The sweep: `sizes` connection counts, `repeats` rounds (a fresh gateway each round), idle then
 * chatting at each size. `infra` is { redisPid, beamPid } of the machine's servers.
 */
export async function measureConnections({
  sizes,
  repeats,
  idleWindowMs,
  chatDeliveriesPerSec,
  chatMeasureMs,
  infra,
  runId,
}) {
  const infraProcs = [
    { name: 'redis', pid: infra.redisPid },
    { name: 'rabbitmq', pid: infra.beamPid },
  ];
  const rounds = [];
  for (let r = 0; r < repeats; r++) {
    const probeDir = mkdtempSync(join(tmpdir(), 'roomcast-scaling-probe-'));
    const prefix = `scaling-${runId}-conns${r}`;
    let services;
    const out = { round: r, idle: [], chatting: [] };
    try {
      services = await startServices({
        prefix,
        gateways: 1,
        amqpUrlFor: () => AMQP_URL,
        cleanupAmqpUrl: AMQP_URL,
        env: { BENCH_PROBE_DIR: probeDir },
        nodeArgs: (name) => (name === 'gateway1' ? PROBE_ARGS : []),
      });
      const gw = services.gateways[0];
      const base = await probeMemory(gw.pid, probeDir);
      out.baseline = {
        heapUsedMiB: round(base.heapUsed / 2 ** 20),
        rssMiB: round(base.rss / 2 ** 20),
        fds: fdCount(gw.pid),
      };
      const w = await cpuWindow([{ name: 'gateway', pid: gw.pid }], () => sleep(idleWindowMs));
      out.baseline.gatewayCores = w.cores('gateway', 4);
      for (const n of sizes) {
        const i = await idle(services, gw, probeDir, infraProcs, n, idleWindowMs, `i${n}r${r}`);
        out.idle.push(i);
        log(
          `  round ${r + 1} idle ${n}: heap ${fmt(i.heapKiBPerConn, 2)} KiB/conn, RSS ${fmt(i.rssKiBPerConn, 2)} KiB/conn, ` +
            `${i.fds} fds, gateway ${fmt(i.gatewayCores, 3)} cores (${fmt(i.gatewayCoresPer1k, 4)} per 1k) over ${fmt(i.windowS)} s`,
        );
        const c = await chatting(
          services,
          gw,
          probeDir,
          infraProcs,
          n,
          chatDeliveriesPerSec,
          chatMeasureMs,
          `c${n}r${r}`,
        );
        out.chatting.push(c);
        log(
          `  round ${r + 1} chatting ${n}: ${fmtRate(c.deliveriesPerSec)} deliveries/s p99 ${fmt(c.p99)} ms, ` +
            `gateway ${fmt(c.gatewayUsPerDelivery)} µs/delivery, ${fmt(c.gatewayCores, 3)} cores, ` +
            `heap ${fmt(c.heapKiBPerConn, 2)} KiB/conn, lost ${c.lost}`,
        );
      }
    } catch (err) {
      out.error = String(err?.stack ?? err);
      log(`  connections round ${r + 1}: ERROR ${err.message}`);
    } finally {
      await services?.stop();
      rmSync(probeDir, { recursive: true, force: true });
    }
    rounds.push(out);
  }
  return { sizes, roomSize: ROOM_SIZE, idleWindowMs, chatDeliveriesPerSec, chatMeasureMs, rounds };
}
