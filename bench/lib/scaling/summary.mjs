// The sweep's figures as Markdown tables (`npm run bench:scaling -- --summary FILE`), the form
// docs/scaling.md quotes them in: median (min-max) over the rounds.
import { fmtSpread } from '../log.mjs';

const f = (x, d = 0) =>
  x === null || x === undefined
    ? '–'
    : Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const s = (sp, d = 0) => fmtSpread(sp, (x) => f(x, d));

export function summaryMarkdown(result) {
  const b = result.budget;
  const out = [];
  const m = result.meta;
  out.push(
    `Run ${m.startedAt} – ${m.finishedAt}, commit ${m.git}, ${m.cpus} cores (${m.cpuModel}), ` +
      `Node ${m.node}, load average ${m.loadavgStart.map((x) => x.toFixed(2)).join(' ')} at the start, ` +
      `${m.loadavgEnd.map((x) => x.toFixed(2)).join(' ')} at the end; ${m.config.repeats} round(s); fd limit ${m.fdLimit}.`,
    '',
  );
  if (b.connections) {
    out.push(
      '| connections | idle heap KiB/conn | idle RSS KiB/conn | idle gateway cores per 1k | chatting gateway µs/delivery | chatting p99 ms |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      ...b.connections.bySize.map(
        (r) =>
          `| ${f(r.connections)} | ${s(r.idleHeapKiBPerConn, 2)} | ${s(r.idleRssKiBPerConn, 2)} | ${s(r.idleCoresPer1k, 4)} | ${s(r.chatUsPerDelivery, 1)} | ${s(r.chatP99, 1)} |`,
      ),
      '',
      `At ${f(b.connections.largest)}: chatting heap ${s(b.connections.chatHeapKiBPerConn, 2)} KiB/conn, ` +
        `RSS ${s(b.connections.chatRssKiBPerConn, 2)} KiB/conn; fds per connection ${s(b.connections.fdsPerConn, 3)}; ` +
        `idle cores per 1k above the gateway's own ${s(b.connections.idleCoresPer1k, 4)}; gateway RSS with no connection ${s(b.connections.baselineRssMiB, 1)} MiB.`,
      '',
    );
  }
  if (result.delivery) {
    const d = result.delivery;
    out.push(
      `Delivery (bench ${d.source.startedAt}, ${d.source.repeats} rounds): gateway µs/delivery ` +
        `W1 ${s(d.gatewayUsPerDelivery.W1, 1)}, W2 ${s(d.gatewayUsPerDelivery.W2, 1)}, W3 ${s(d.gatewayUsPerDelivery.W3, 1)}; ` +
        `deliveries per gateway core W2 ${s(d.deliveriesPerGatewayCore.W2)}, W3 ${s(d.deliveriesPerGatewayCore.W3)}; ` +
        `W2 sweep best ${s(d.sweepW2?.bestDeliveriesPerSec)}/s at ${s(d.sweepW2?.serverCores, 2)} server cores. ` +
        `Fit: ${JSON.stringify(d.fit)}`,
      '',
    );
  }
  for (const c of b.churn) {
    out.push(
      `Churn ${c.label}: bind+unbind ops/s held ${s(c.bindOpsPerSec)}, first over ${s(c.firstOverBindOpsPerSec)}, ` +
        `join p99 at best ${s(c.joinP99AtBest, 1)} ms, broker µs per bind op (fresh − bound) ${s(c.brokerUsPerBindOp)}; ` +
        `raw 1 channel ${s(c.rawOpsPerSec1ch)} ops/s (p50 ${s(c.rawOpP50, 2)} ms, ${s(c.rawBrokerUsPerOp)} µs/op), ` +
        `1 channel with 10k held ${s(c.rawOpsPerSec1chHeld)}, 3 channels ${s(c.rawOpsPerSec3ch)}`,
    );
  }
  for (const cg of result.churn ?? []) {
    for (const sw of cg.gateway.filter((x) => !x.error)) {
      out.push(
        '',
        `| ${sw.label} | offered cycles/s | got | join p50/p99 ms | leave p50/p99 ms | broker cores | broker µs/cycle | gateways µs/cycle | presence µs/cycle |`,
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...sw.steps.map(
          (st) =>
            `| ${st.mode} | ${st.offeredCyclesPerSec} | ${f(st.cyclesPerSec, 1)} | ${f(st.join.p50, 1)} / ${f(st.join.p99, 1)} | ${f(st.leave.p50, 1)} / ${f(st.leave.p99, 1)} | ${f(st.brokerCores, 2)} | ${f(st.brokerUsPerCycle)} | ${f(st.gatewaysUsPerCycle)} | ${f(st.presenceUsPerCycle)} |`,
        ),
      );
    }
  }
  out.push('');
  for (const q of b.queues ?? []) {
    out.push(
      `Queue ${q.label}: ${s(q.msgsPerSec)} msgs/s, confirm p99 ${s(q.confirmP99, 1)} ms, broker ${s(q.brokerUsPerMessage)} µs/msg, ${s(q.brokerCores, 2)} cores`,
    );
  }
  for (const p of b.presence) {
    out.push(
      `Presence ${p.label}: ${s(p.changesPerSec)} changes/s, presence ${s(p.presenceUsPerChange)} µs/change (ceiling ${s(p.ceilingPerCore)}/core), broker ${s(p.brokerUsPerChange)} µs/change, redis ${s(p.redisUsPerChange)} µs/change`,
    );
  }
  out.push(
    `Appends: one Redis ${s(b.appends.oneRedisCeilingPerCore)}/core, cluster master ${s(b.appends.clusterMasterCeilingPerCore)}/core, µs/append ${s(b.appends.usPerAppend, 1)}`,
    '',
    `Figures: ${JSON.stringify(b.figures)}`,
  );
  return out.join('\n') + '\n';
}
