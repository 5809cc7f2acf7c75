// `npm run bench -- --profile`: runs each system (default B and O) with instance 1 under
// `node --cpu-prof`, drives the load workloads at the fixed load, and reports where that
// process's CPU goes inside each measured window, in µs per delivery by category side by side
// (samples are cut to the window by timestamp, so start-up, connecting and joining do not dilute
// the shares). Writes docs/benchmarks/profile.md and profile.json; the raw
// .cpuprofile stays in a temp dir (open it in Chrome DevTools or speedscope).
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectMembers, withLoadgen } from './loadgen-client.mjs';
import { log, utcMinute } from './log.mjs';
import { fixedLoad } from './measure.mjs';
import { writePretty } from './report/write.mjs';
import { ROOMCAST } from './constants.mjs';
import { startSystem } from './systems.mjs';
import { layout } from './workloads.mjs';

/** Where a frame's code lives: a package, a roomcast file, Node internals or a V8 pseudo-frame. */
function area(frame) {
  const url = frame.url ?? '';
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `roomcast ${url.slice(dist + 6).replace(/\.js$/, '')}`;
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

/** Self and inclusive sample counts inside [from, to] (µs, the profile's monotonic clock). */
export function analyse(profile, from, to) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) =>
    `${n.callFrame.functionName || '(anonymous)'} ${area(n.callFrame)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map();
  const inclusive = new Map();
  const areas = new Map();
  const categories = new Map();
  let t = profile.startTime;
  let busy = 0;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < from || t > to) continue;
    total++;
    const node = byId.get(profile.samples[i]);
    const name = node.callFrame.functionName;
    if (name === '(idle)') continue;
    busy++;
    self.set(key(node), (self.get(key(node)) ?? 0) + 1);
    const a = area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + 1);
    const c = category(name, a);
    categories.set(c, (categories.get(c) ?? 0) + 1);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const k = key(byId.get(id));
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
    }
  }
  const top = (m, n) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, count]) => ({ name, share: count / busy }));
  return {
    samples: total,
    busyShare: total ? busy / total : 0,
    categories: Object.fromEntries([...categories].map(([c, n]) => [c, n / busy])),
    areas: top(areas, 20),
    self: top(self, 25),
    inclusive: top(inclusive, 40),
  };
}

/**
 * What a self-time frame is spent on, coarser than its area: the kernel's socket writes (on
 * loopback a write also runs the receiver's TCP path), GC, the Socket.IO stack, each client
 * library, Nest, validation, roomcast's own code, and the rest.
 */
export function category(fn, area) {
  if (
    area === '(native)' &&
    /^(writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString)$/.test(fn)
  )
    return 'socket writes (kernel)';
  if (area === '(garbage collector)') return 'garbage collection';
  if (
    /^(socket\.io|socket\.io-parser|socket\.io-adapter|engine\.io|engine\.io-parser|ws)$/.test(area)
  )
    return 'Socket.IO stack (JS)';
  if (
    /^(ioredis|redis-parser|@ioredis\/commands|denque|cluster-key-slot|@socket\.io\/redis-adapter|notepack\.io|@msgpack\/msgpack)$/.test(
      area,
    )
  )
    return 'Redis client and adapter (JS)';
  if (/^(amqplib|amqp-connection-manager|buffer-more-ints|promise-breaker)$/.test(area))
    return 'broker client (JS)';
  if (area.startsWith('@nestjs/') || area === 'rxjs') return 'Nest and rxjs';
  if (/^(class-validator|class-transformer|validator|libphonenumber-js)$/.test(area))
    return 'validation';
  if (/^(prom-client|tdigest|bintrees)$/.test(area)) return 'metrics';
  if (area === 'rate-limiter-flexible') return 'rate limits';
  if (area.startsWith('roomcast ') || area.includes('bench/server.mjs'))
    return 'roomcast / server code';
  if (area === 'node internals') return 'node internals (streams, timers, crypto)';
  return 'other (native, program, rest)';
}

/** A window's analysis, with its categories' shares turned into µs per delivery. */
function analysed(profile, w) {
  const { categories, ...rest } = analyse(profile, w.from, w.to);
  const us = Object.fromEntries(
    Object.entries(categories).map(([c, share]) => [c, share * w.processUsPerDelivery]),
  );
  return { ...rest, categories: us };
}

/** Profiles instance 1 of `kind` under each workload; returns its windows analysed. */
async function profileSystem(kind, { config, infra, defs }) {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-bench-prof-'));
  const workloads = config.workloads.filter((w) => !defs[w].idlePerInstance);
  const sys = await startSystem(kind, {
    runId: `prof${Date.now().toString(36)}`,
    redisUrl: config.redisUrl,
    infra,
    before: config.before,
    gatewayArgs: { 0: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200'] },
  });
  const first = ROOMCAST.includes(kind) ? 'gateway1' : 'server1';
  const windows = [];
  try {
    for (const wName of workloads) {
      const tag = `P${kind}${wName}`;
      const lay = layout(defs[wName], sys.urls, tag);
      const r = await withLoadgen(async (lg) => {
        await connectMembers(lg, 'setup', { tag, ...lay });
        return (await fixedLoad(lg, sys, lay, config)).fixed;
      });
      const from = r.cpu.windowStartUs;
      const cores = r.cpu.perProcessUs[first] / r.cpu.wallUs;
      windows.push({
        system: kind,
        process: first,
        workload: wName,
        from,
        to: from + r.windowMs * 1000,
        deliveriesPerSec: r.deliveriesPerSec,
        p99: r.latency.p99,
        processCores: cores,
        // The profiled process handles its share of the deliveries: µs per delivery it made.
        processUsPerDelivery: r.cpu.perProcessUs[first] / r.deliveries,
        serverUsPerDelivery: r.cpu.serverUsPerDelivery,
        perProcessUsPerDelivery: Object.fromEntries(
          Object.entries(r.cpu.perProcessUs).map(([k, v]) => [k, v / r.deliveries]),
        ),
      });
      log(
        `  profile ${kind} ${wName}: ${r.deliveriesPerSec.toFixed(0)}/s, p99 ${r.latency.p99?.toFixed(1)} ms, ${first} ${cores.toFixed(2)} cores`,
      );
    }
    await sys.exitCleanly(first);
  } finally {
    await sys.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  return windows.map((w) => ({
    ...w,
    profile: join(dir, file),
    ...analysed(profile, w),
  }));
}

export async function runProfile({ config, infra, defs }) {
  const results = [];
  for (const kind of config.systems)
    results.push(...(await profileSystem(kind, { config, infra, defs })));
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    '# Where the CPU of a gateway goes, beside a Socket.IO node',
    '',
    `\`npm run bench -- --profile\`, ${utcMinute()} UTC: ` +
      `instance 1 of each system (${config.systems.join(', ')}) under \`node --cpu-prof\` (200 µs ` +
      `sampling), ${config.rate} deliveries/s for ${config.measureMs} ms per workload; the ` +
      'samples are cut to the measured window. Shares are of the samples in which the process ' +
      'was busy (not idle); µs per delivery are those shares times the CPU the process took ' +
      '(from /proc) divided by every delivery of the window, so the systems compare directly. ' +
      'Profiling slows the profiled process by roughly a third: compare systems, not these ' +
      'figures with the fixed-load table.',
    `Raw profiles: ${[...new Set(results.map((r) => `\`${r.profile}\``))].join(', ')} (not kept).`,
  ];
  const workloads = [...new Set(results.map((r) => r.workload))];
  const cats = [...new Set(results.flatMap((r) => Object.keys(r.categories)))].sort();
  for (const w of workloads) {
    const rs = results.filter((r) => r.workload === w);
    lines.push(
      '',
      `## ${w}: µs per delivery of instance 1, by what it is spent on`,
      '',
      `| spent on | ${rs.map((r) => `${r.system} (${r.process})`).join(' | ')} |`,
      `| --- | ${rs.map(() => '--:').join(' | ')} |`,
      ...cats.map(
        (c) => `| ${c} | ${rs.map((r) => (r.categories[c] ?? 0).toFixed(1)).join(' | ')} |`,
      ),
      `| **total** | ${rs.map((r) => `**${r.processUsPerDelivery.toFixed(1)}**`).join(' | ')} |`,
    );
  }
  for (const r of results) {
    lines.push(
      '',
      `## ${r.system} ${r.workload}: ${r.deliveriesPerSec.toFixed(0)} deliveries/s, p99 ${r.p99?.toFixed(1)} ms, ${r.process} at ${r.processCores.toFixed(2)} cores, ${r.serverUsPerDelivery?.toFixed(1)} µs of server CPU per delivery`,
      '',
      'CPU per delivery by process (µs): ' +
        Object.entries(r.perProcessUsPerDelivery)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', '),
      '',
      '| where (self time) | share |',
      '| --- | --: |',
      ...r.areas.map((a) => `| ${a.name} | ${pct(a.share)} |`),
      '',
      '| function (self time) | share |',
      '| --- | --: |',
      ...r.self.map((a) => `| \`${a.name}\` | ${pct(a.share)} |`),
      '',
      '| function (inclusive: itself and what it calls) | share |',
      '| --- | --: |',
      ...r.inclusive.map((a) => `| \`${a.name}\` | ${pct(a.share)} |`),
    );
  }
  const out = config.out;
  mkdirSync(out, { recursive: true });
  const md = join(out, 'profile.md');
  const json = join(out, 'profile.json');
  await writePretty(md, lines.join('\n'));
  await writePretty(json, JSON.stringify({ results }));
  log(`wrote ${md}, ${json}`);
}
