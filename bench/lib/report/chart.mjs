// The run's chart, SVG written by hand: grouped bars for CPU per delivery and p99 at the fixed
// load, the sweep's p99 against its delivered rate, and idle memory per connection.
import { fmtRate as k } from '../log.mjs';
import { SYSTEMS } from '../constants.mjs';

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

function barPanel({ x, y, w, h, title, unit, groups, systems, value }) {
  const parts = [];
  const vals = groups.flatMap((g) => systems.map((s) => value(s, g))).filter((v) => v > 0);
  const max = Math.max(...vals, 1e-9);
  const scale = (v) => (v > 0 ? (v / max) * (h - 40) : 0);
  parts.push(`<text x="${x}" y="${y + 14}" class="t">${esc(title)}</text>`);
  const gw = w / groups.length;
  const bw = Math.min(28, (gw - 16) / systems.length);
  const base = y + h - 18;
  parts.push(`<line x1="${x}" y1="${base}" x2="${x + w}" y2="${base}" class="ax"/>`);
  groups.forEach((g, gi) => {
    const gx = x + gi * gw + (gw - bw * systems.length) / 2;
    systems.forEach((s, si) => {
      const v = value(s, g);
      if (v === null || v === undefined) return;
      const bh = scale(v);
      const bx = gx + si * bw;
      parts.push(
        `<rect x="${bx.toFixed(1)}" y="${(base - bh).toFixed(1)}" width="${(bw - 3).toFixed(1)}" height="${bh.toFixed(1)}" fill="${SYSTEMS[s].color}"><title>${s} ${g}: ${v.toFixed(1)} ${unit}</title></rect>`,
        `<text x="${(bx + (bw - 3) / 2).toFixed(1)}" y="${(base - bh - 3).toFixed(1)}" class="v">${v >= 100 ? v.toFixed(0) : v.toFixed(1)}</text>`,
      );
    });
    parts.push(
      `<text x="${(x + gi * gw + gw / 2).toFixed(1)}" y="${base + 14}" class="g">${esc(g)}</text>`,
    );
  });
  return parts.join('\n');
}

function linePanel({ x, y, w, h, title, series, limit }) {
  const parts = [`<text x="${x}" y="${y + 14}" class="t">${esc(title)}</text>`];
  const pts = series.flatMap((s) => s.points);
  if (!pts.length) return parts.join('\n');
  const maxX = Math.max(...pts.map((p) => p.x)) * 1.05;
  const yTop = 200;
  const px = (v) => x + 40 + (v / maxX) * (w - 50);
  const py = (v) => y + h - 20 - (Math.min(v, yTop) / yTop) * (h - 45);
  parts.push(
    `<line x1="${x + 40}" y1="${y + h - 20}" x2="${x + w}" y2="${y + h - 20}" class="ax"/>`,
    `<line x1="${x + 40}" y1="${y + 25}" x2="${x + 40}" y2="${y + h - 20}" class="ax"/>`,
  );
  for (const tick of [0, 50, 100, 150, 200]) {
    parts.push(`<text x="${x + 34}" y="${py(tick) + 4}" class="yl">${tick}</text>`);
  }
  const step = maxX > 60000 ? 20000 : maxX > 20000 ? 10000 : maxX > 5000 ? 2000 : 500;
  for (let t = 0; t <= maxX; t += step) {
    parts.push(
      `<text x="${px(t)}" y="${y + h - 6}" class="g">${t >= 1000 ? `${t / 1000}k` : t}</text>`,
    );
  }
  parts.push(
    `<line x1="${x + 40}" y1="${py(limit)}" x2="${x + w}" y2="${py(limit)}" class="lim"/>`,
    `<text x="${x + w - 4}" y="${py(limit) - 4}" class="yl">p99 limit ${limit} ms</text>`,
  );
  for (const s of series) {
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`);
    parts.push(
      `<path d="${d.join(' ')}" fill="none" stroke="${SYSTEMS[s.system].color}" stroke-width="2"/>`,
    );
    for (const p of s.points) {
      parts.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${SYSTEMS[s.system].color}"><title>${s.system}: ${p.x.toFixed(0)}/s p99 ${p.y.toFixed(1)} ms</title></circle>`,
      );
    }
  }
  return parts.join('\n');
}

export function chart({ agg, meta, defs }) {
  const systems = Object.keys(SYSTEMS).filter((s) => agg[s]);
  const loadW = Object.keys(defs).filter(
    (w) => !defs[w].idlePerInstance && systems.some((s) => agg[s]?.[w]?.fixed),
  );
  const W = 980;
  const panels = [];
  let y = 40;
  panels.push(
    barPanel({
      x: 20,
      y,
      w: 460,
      h: 220,
      title: `Server CPU µs per delivery at ${k(meta.config.rate)} deliveries/s (lower is better)`,
      unit: 'µs',
      groups: loadW,
      systems,
      value: (s, w) => agg[s]?.[w]?.fixed?.cpuPerDelivery.median ?? null,
    }),
    barPanel({
      x: 500,
      y,
      w: 460,
      h: 220,
      title: `p99 send-to-receive latency, ms, at ${k(meta.config.rate)} deliveries/s`,
      unit: 'ms',
      groups: loadW,
      systems,
      value: (s, w) => agg[s]?.[w]?.fixed?.p99.median ?? null,
    }),
  );
  y += 240;
  const swW = loadW.find((w) => systems.some((s) => agg[s]?.[w]?.sweep));
  if (swW) {
    panels.push(
      linePanel({
        x: 20,
        y,
        w: 460,
        h: 240,
        title: `${swW}: p99 ms vs delivered deliveries/s (sweep)`,
        limit: meta.config.p99LimitMs,
        series: systems
          .filter((s) => agg[s]?.[swW]?.sweep)
          .map((s) => ({
            system: s,
            points: agg[s][swW].sweep.curve.map((p) => ({ x: p.deliveriesPerSec, y: p.p99 })),
          })),
      }),
    );
  }
  const idleW = Object.keys(defs).find((w) => defs[w].idlePerInstance);
  if (idleW && systems.some((s) => agg[s]?.[idleW]?.idle)) {
    panels.push(
      barPanel({
        x: 500,
        y,
        w: 460,
        h: 240,
        title: `Idle connection: KiB per connection (${idleW})`,
        unit: 'KiB',
        groups: ['heap', 'RSS'],
        systems,
        value: (s, g) => {
          const i = agg[s]?.[idleW]?.idle;
          if (!i) return null;
          return (g === 'heap' ? i.heapPerConn.median : i.rssPerConn.median) / 1024;
        },
      }),
    );
  }
  y += 260;
  // Three labels a line: five do not fit in the width.
  const legend = systems
    .map((s, i) => {
      const lx = 20 + (i % 3) * 320;
      const ly = y + Math.floor(i / 3) * 18;
      return `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${SYSTEMS[s].color}"/><text x="${lx + 18}" y="${ly + 11}" class="lg">${esc(SYSTEMS[s].label)}</text>`;
    })
    .join('\n');
  const H = y + 12 + Math.ceil(systems.length / 3) * 18;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif">
<style>
.t { font-size: 13px; font-weight: bold; fill: #222; }
.g { font-size: 11px; fill: #333; text-anchor: middle; }
.lg { font-size: 11px; fill: #333; }
.v { font-size: 9px; fill: #333; text-anchor: middle; }
.yl { font-size: 10px; fill: #555; text-anchor: end; }
.ax { stroke: #999; stroke-width: 1; }
.lim { stroke: #c00; stroke-width: 1; stroke-dasharray: 4 3; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="22" class="t">roomcast benchmark, ${esc(meta.startedAt.slice(0, 10))}: ${meta.cpus} cores shared by servers, broker, Redis and the load generator; medians of ${meta.config.repeats} rounds</text>
${panels.join('\n')}
${legend}
</svg>
`;
}
