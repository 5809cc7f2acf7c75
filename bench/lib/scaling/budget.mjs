// The per-instance budget: the figures docs/scaling.md tables and bench/scaling-model.mjs sizes a
// deployment with, derived from the sweep's raw measures (scaling.json). Each figure is a spread
// ({ median, min, max, n, values }) over the rounds, or null when its part was not run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../constants.mjs';
import { medianOf as med, round, spread } from '../stats.mjs';
import { deliveryBudget } from './delivery.mjs';

const ok = (rows) => (rows ?? []).filter((r) => r && !r.error);

function connections(c) {
  if (!c) return null;
  const rounds = ok(c.rounds);
  const largest = Math.max(...c.sizes);
  const at = (kind, n, f) =>
    spread(
      rounds
        .map((r) => r[kind].find((x) => x.connections === n))
        .filter(Boolean)
        .map(f),
    );
  return {
    largest,
    idleHeapKiBPerConn: at('idle', largest, (x) => x.heapKiBPerConn),
    idleRssKiBPerConn: at('idle', largest, (x) => x.rssKiBPerConn),
    chatHeapKiBPerConn: at('chatting', largest, (x) => x.heapKiBPerConn),
    chatRssKiBPerConn: at('chatting', largest, (x) => x.rssKiBPerConn),
    fdsPerConn: at('idle', largest, (x) => x.fdsPerConn),
    // Above the gateway's own idle CPU (heartbeats to presence, metrics) before any connection.
    idleCoresPer1k: spread(
      rounds
        .map((r) => {
          const x = r.idle.find((y) => y.connections === largest);
          return x && (x.gatewayCores - (r.baseline?.gatewayCores ?? 0)) / (largest / 1000);
        })
        .filter((v) => v !== undefined),
    ),
    baselineRssMiB: spread(rounds.map((r) => r.baseline?.rssMiB)),
    chatUsPerDelivery: at('chatting', largest, (x) => x.gatewayUsPerDelivery),
    chatP99: at('chatting', largest, (x) => x.p99),
    bySize: c.sizes.map((n) => ({
      connections: n,
      idleHeapKiBPerConn: at('idle', n, (x) => x.heapKiBPerConn),
      idleRssKiBPerConn: at('idle', n, (x) => x.rssKiBPerConn),
      idleCoresPer1k: at('idle', n, (x) => x.gatewayCoresPer1k),
      chatUsPerDelivery: at('chatting', n, (x) => x.gatewayUsPerDelivery),
      chatP99: at('chatting', n, (x) => x.p99),
    })),
  };
}

/** One deployment's churn: the highest rate that held, and the CPU a binding op costs. */
function churn(c) {
  const sweeps = ok(c.gateway);
  // Broker CPU of a cycle that binds and unbinds minus one that does not, at the same rate.
  const perOp = [];
  for (const s of sweeps) {
    // Every step that carried its offered rate counts: CPU per op does not need the latency limit.
    const carried = (x) => x.errors === 0 && x.cyclesPerSec >= 0.95 * x.offeredCyclesPerSec;
    for (const f of s.steps.filter((x) => x.mode === 'fresh' && carried(x))) {
      const b = s.steps.find(
        (x) => x.mode === 'bound' && x.offeredCyclesPerSec === f.offeredCyclesPerSec,
      );
      if (b && f.brokerUsPerCycle !== null && b.brokerUsPerCycle !== null) {
        perOp.push((f.brokerUsPerCycle - b.brokerUsPerCycle) / 2);
      }
    }
  }
  // The gateways' CPU per join or leave, at each sweep's highest rate a bound step held: their
  // idle CPU is in it too, least so at the highest rate.
  const gwPerChange = sweeps.flatMap((s) => {
    const held = s.steps.filter((x) => x.mode === 'bound' && x.pass);
    const top = held.sort((x, y) => y.offeredCyclesPerSec - x.offeredCyclesPerSec)[0];
    return top ? [top.gatewaysUsPerCycle / 2] : [];
  });
  const raw = ok(c.raw?.rows);
  const rawAt = (channels, existing, f) =>
    spread(raw.filter((r) => r.channels === channels && r.existing === existing).map(f));
  return {
    label: c.label,
    bindOpsPerSec: spread(sweeps.map((s) => s.best?.bindOpsPerSec ?? 0)),
    firstOverBindOpsPerSec: spread(
      sweeps.map((s) => s.firstOver && 2 * s.firstOver.offeredCyclesPerSec),
    ),
    joinP99AtBest: spread(sweeps.map((s) => s.best?.joinP99)),
    brokerUsPerBindOp: spread(perOp.map((x) => round(x, 1))),
    gatewayUsPerChange: spread(gwPerChange),
    rawOpsPerSec1ch: rawAt(1, 0, (r) => r.opsPerSec),
    rawOpsPerSec1chHeld: rawAt(1, 10000, (r) => r.opsPerSec),
    rawOpsPerSec3ch: rawAt(3, 0, (r) => r.opsPerSec),
    // Every raw row on 3 channels, with and without held bindings: what the broker takes at once.
    rawOpsPerSecAll3ch: spread(raw.filter((r) => r.channels === 3).map((r) => r.opsPerSec)),
    rawOpP50: rawAt(1, 0, (r) => r.op.p50),
    rawBrokerUsPerOp: rawAt(1, 0, (r) => r.brokerUsPerOp),
  };
}

function queues(q) {
  if (!q) return null;
  const labels = [...new Set(ok(q.rows).map((r) => r.label))];
  return labels.map((label) => {
    const rows = ok(q.rows).filter((r) => r.label === label);
    return {
      label,
      quorum: rows[0].quorum,
      msgsPerSec: spread(rows.map((r) => r.consumedPerSec)),
      confirmP99: spread(rows.map((r) => r.confirm.p99)),
      brokerUsPerMessage: spread(rows.map((r) => r.brokerUsPerMessage)),
      brokerCores: spread(rows.map((r) => r.brokerCores)),
    };
  });
}

function presence(p) {
  const labels = [...new Set(ok(p).map((r) => r.label))];
  return labels.map((label) => {
    const rows = ok(p).filter((r) => r.label === label);
    return {
      label,
      changesPerSec: spread(rows.map((r) => r.changesPerSec)),
      presenceUsPerChange: spread(rows.map((r) => r.presenceUsPerChange)),
      // One presence core's ceiling at that cost.
      ceilingPerCore: spread(rows.map((r) => 1e6 / r.presenceUsPerChange)),
      brokerUsPerChange: spread(rows.map((r) => r.brokerUsPerChange)),
      redisUsPerChange: spread(rows.map((r) => r.redisUsPerChange)),
    };
  });
}

function appends(runs) {
  const rows = ok(runs);
  const masters = (target) =>
    rows.filter((r) => r.target === target).flatMap((r) => r.perMaster.filter((m) => m.appends));
  return {
    oneRedisCeilingPerCore: spread(masters('one Redis').map((m) => m.ceilingPerSec)),
    clusterMasterCeilingPerCore: spread(
      masters('Redis Cluster, 3 masters').map((m) => m.ceilingPerSec),
    ),
    usPerAppend: spread(rows.flatMap((r) => r.perMaster).map((m) => m.usPerAppend)),
  };
}

/** The budget of a scaling.json (its raw parts), with the figures the model reads. */
export function deriveBudget(result) {
  const conns = connections(result.connections);
  const churns = (result.churn ?? []).map(churn);
  const qs = queues(result.queues);
  const pres = presence(result.presence ?? []);
  const aps = appends([...(result.delivery?.appends ?? []), ...(result.appends ?? [])]);
  const d = result.delivery;
  const one = churns.find((c) => c.label.startsWith('machine'));
  const c3 = churns.find((c) => c.label.startsWith('RabbitMQ cluster'));
  const queue = (pred) => med(qs?.find(pred)?.msgsPerSec);
  const pr = (pred) => med(pres.find(pred)?.changesPerSec);
  const figures = {
    gatewayIdleRssKiBPerConn: med(conns?.idleRssKiBPerConn),
    gatewayIdleHeapKiBPerConn: med(conns?.idleHeapKiBPerConn),
    gatewayChatRssKiBPerConn: med(conns?.chatRssKiBPerConn),
    gatewayChatHeapKiBPerConn: med(conns?.chatHeapKiBPerConn),
    gatewayBaselineRssMiB: med(conns?.baselineRssMiB),
    gatewayFdsPerConn: med(conns?.fdsPerConn),
    gatewayIdleCoresPer1kConns: med(conns?.idleCoresPer1k),
    gatewayUsPerSend: d?.fit.gatewayUsPerSend ?? null,
    gatewayUsPerBrokerDelivery: d?.fit.gatewayUsPerBrokerDelivery ?? null,
    gatewayUsPerClientDelivery: d?.fit.gatewayUsPerClientDelivery ?? null,
    gatewayUsPerChange: med(one?.gatewayUsPerChange),
    gatewayDeliveriesPerCoreW2: med(d?.deliveriesPerGatewayCore.W2),
    gatewayDeliveriesPerCoreW3: med(d?.deliveriesPerGatewayCore.W3),
    brokerUsPerPublish: d?.fit.brokerUsPerPublish ?? null,
    brokerUsPerQueueDelivery: d?.fit.brokerUsPerQueueDelivery ?? null,
    // Broker CPU per bind or unbind: amqplib alone (nothing else in the window), summed over nodes.
    brokerUsPerBindOpOneNode: med(one?.rawBrokerUsPerOp),
    brokerUsPerBindOpCluster3: med(c3?.rawBrokerUsPerOp),
    // The same through real gateways: fresh rooms' cycles minus bound rooms' at the same rate.
    brokerUsPerBindOpViaGatewaysOneNode: med(one?.brokerUsPerBindOp),
    brokerUsPerBindOpViaGatewaysCluster3: med(c3?.brokerUsPerBindOp),
    bindOpsPerSecOneNode: med(one?.bindOpsPerSec),
    bindOpsPerSecCluster3: med(c3?.bindOpsPerSec),
    rawBindOpsPerSecPerChannelOneNode: med(one?.rawOpsPerSec1ch),
    rawBindOpsPerSecPerChannelCluster3: med(c3?.rawOpsPerSec1ch),
    rawBindOpsPerSecOneNode: med(one?.rawOpsPerSecAll3ch),
    rawBindOpsPerSecCluster3: med(c3?.rawOpsPerSecAll3ch),
    classicQueueMsgsPerSec: queue((q) => !q.quorum && q.label.includes('machine')),
    quorumQueueMsgsPerSec: queue((q) => q.quorum && q.label.includes('leader')),
    presenceChangesPerSec: pr((p) => p.label.includes('machine')),
    presenceChangesPerSecCluster3: pr((p) => p.label.includes('cluster')),
    presenceCeilingPerCore: med(pres.find((p) => p.label.includes('machine'))?.ceilingPerCore),
    redisAppendsPerMasterCore: med(aps.clusterMasterCeilingPerCore),
    redisAppendsPerCoreOneRedis: med(aps.oneRedisCeilingPerCore),
  };
  return { figures, connections: conns, churn: churns, queues: qs, presence: pres, appends: aps };
}

/**
 * A scaling.json's figures derived again from its raw measures: the delivery part from the bench
 * run stored beside it (its trials), then the budget. Nothing is measured.
 */
export function rebudget(result) {
  const source = result.delivery?.source?.file;
  if (source && existsSync(join(ROOT, source))) {
    const d = deliveryBudget(join(ROOT, source));
    result.delivery = { ...d, source: { ...d.source, file: source } };
  }
  result.budget = deriveBudget(result);
  return result;
}
