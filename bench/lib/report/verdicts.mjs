// The targets of issues 6, 15 and 28, each checked against a run's aggregate: { name, holds,
// detail }, in the order the report lists them.
import { fmt as f, fmtRate as k } from '../log.mjs';

/** The gateways' (or Socket.IO servers') part of a system's CPU per delivery on `w`. */
const serversUs = (g) =>
  g?.fixed?.perProcessUs &&
  Object.entries(g.fixed.perProcessUs)
    .filter(([n]) => /^(server|gateway)\d+$/.test(n))
    .reduce((a, [, v]) => a + (v ?? 0), 0);

/** Each target of issues 6, 15 and 28: { name, holds, detail }. */
export function targets(agg, config) {
  const out = [];
  const get = (s, w) => agg[s]?.[w];
  const O = (w) => get('O', w);
  const rate = `${k(config.rate)} deliveries/s`;
  /** O's figure against `other`'s, where both are there: O ≤ limit × other (or ≥ with `atLeast`). */
  const beside = (name, o, x, { limit = 1, other, unit, fn = f, atLeast = false }) => {
    if (!o || !x) return;
    out.push({
      name,
      holds: atLeast ? o >= limit * x : o <= limit * x,
      detail: `O ${fn(o)}${unit} vs ${other} ${fn(x)}${unit} = ${f(o / x, 2)}×`,
    });
  };
  const p99Within = (limit, rows) => {
    for (const [w, g] of rows) {
      const p99 = g.fixed.p99.median;
      out.push({
        name: `p99 ≤ ${limit} ms at ${rate}, ${w}`,
        holds: p99 !== null && p99 <= limit,
        detail:
          `p99 ${f(p99)} ms` + (limit === 20 ? ` at ${k(g.fixed.deliveriesPerSec.median)}/s` : ''),
      });
    }
  };
  const cpu = (s, w) => get(s, w)?.fixed?.cpuPerDelivery.median;
  const best = (s, w) => get(s, w)?.sweep?.best.median;
  // 1. unused deliveries
  const oLoad = Object.entries(agg.O ?? {}).filter(([, g]) => g.fixed);
  if (oLoad.length) {
    const total = oLoad.reduce((a, [, g]) => a + g.fixed.unusedTotal, 0);
    out.push({
      name: 'roomcast unused broker deliveries = 0',
      holds: total === 0,
      detail: `${total} in ${oLoad.map(([w]) => w).join(', ')} (fixed load and sweep)`,
    });
  }
  // 2. CPU per delivery
  const cpuBeside = (w, other, limit) =>
    beside(`CPU/delivery ${w}: O ≤ ${limit} × ${other}`, cpu('O', w), cpu(other, w), {
      limit,
      other,
      unit: ' µs',
    });
  for (const w of ['W1', 'W3']) {
    cpuBeside(w, 'A', 0.8);
    cpuBeside(w, 'B', 1.0);
  }
  cpuBeside('W2', 'B', 1.25);
  // 3. p99 at the fixed load
  p99Within(20, oLoad);
  // 4. highest sustained rate per CPU
  for (const w of Object.keys(agg.O ?? {})) {
    const o = O(w)?.sweep;
    const u = get('U', w)?.sweep;
    if (!o || !u || !u.perCore.median) continue;
    const per = (name, s) =>
      `${name} ${k(s.best.median)}/s on ${f(s.cores.median, 2)} cores = ${k(s.perCore.median)}/s per core`;
    out.push({
      name: `highest sustained rate per CPU ${w}: O ≥ 0.6 × U`,
      holds: (o.perCore.median ?? 0) >= 0.6 * u.perCore.median,
      detail: `${per('O', o)}; ${per('U', u)}; ${f((o.perCore.median ?? 0) / u.perCore.median, 2)}×`,
    });
  }
  // 5. idle memory
  const idleW = Object.keys(agg.O ?? {}).find((w) => agg.O[w].idle);
  const idle = (s, key) => agg[s][idleW].idle[key].median;
  const kib = (v) => f(v / 1024);
  const idleBeside = (name, key, limit) => {
    const [o, u] = [idle('O', key), idle('U', key)];
    out.push({
      name,
      holds: o <= limit * u,
      detail: `O ${kib(o)} KiB vs U ${kib(u)} KiB = ${f(o / u, 2)}×`,
    });
  };
  if (idleW && agg.U?.[idleW]?.idle) {
    idleBeside('idle heap per connection: O ≤ 1.2 × U', 'heapPerConn', 1.2);
    idleBeside('idle RSS per connection: O ≤ 1.2 × U', 'rssPerConn', 1.2);
  }
  // Issue 15: a gateway at parity with a Socket.IO node (B), and latency to match.
  for (const w of ['W2', 'W3']) {
    beside(
      `gateways' CPU/delivery ${w}: O ≤ 1.15 × B's servers`,
      serversUs(O(w)),
      serversUs(get('B', w)),
      { limit: 1.15, other: 'B', unit: ' µs' },
    );
  }
  for (const [w, limit] of [
    ['W2', 1.5],
    ['W3', 1.2],
  ]) {
    beside(`total server CPU/delivery ${w}: O ≤ ${limit} × B`, cpu('O', w), cpu('B', w), {
      limit,
      other: 'B',
      unit: ' µs',
    });
  }
  beside('p99 W2: O ≤ 2 × B', O('W2')?.fixed?.p99.median, get('B', 'W2')?.fixed?.p99.median, {
    limit: 2,
    other: 'B',
    unit: ' ms',
  });
  p99Within(50, oLoad);
  const rateBeside = (w, other) =>
    beside(`highest sustained rate ${w}: O ≥ 0.8 × ${other}`, best('O', w), best(other, w), {
      limit: 0.8,
      other,
      unit: '/s',
      fn: k,
      atLeast: true,
    });
  rateBeside('W2', 'B');
  if (idleW && agg.U?.[idleW]?.idle)
    idleBeside('idle heap per connection: O ≤ 1.0 × U', 'heapPerConn', 1);
  // Issue 28: a lone send on an idle cluster acks no more than 1 ms later than before.
  const loneO = O('W2')?.lone?.ackP50.median;
  const loneP = get('P', 'W2')?.lone?.ackP50.median;
  if (loneO !== null && loneO !== undefined && loneP !== null && loneP !== undefined) {
    out.push({
      name: 'lone send ack p50: O ≤ P (before) + 1 ms',
      holds: loneO <= loneP + 1,
      detail: `O ${f(loneO, 2)} ms vs P ${f(loneP, 2)} ms`,
    });
  }
  // Issue 28: a roomcast node carries as many deliveries per core as a Socket.IO node (B, S).
  rateBeside('W2', 'S');
  rateBeside('W6', 'B');
  rateBeside('W6', 'S');
  const rabbit = O('W2')?.fixed?.perProcessUs?.rabbitmq;
  if (rabbit !== undefined && rabbit !== null) {
    out.push({
      name: `RabbitMQ CPU/delivery W2 ≤ 12 µs at ${rate}`,
      holds: rabbit <= 12,
      detail: `${f(rabbit)} µs`,
    });
  }
  p99Within(
    25,
    oLoad.filter(([w]) => ['W1', 'W2', 'W3', 'W4'].includes(w)),
  );
  return out;
}
