/**
 * The operations page's trends, as plain browser script (ES5, no DOM): a ring buffer of the last
 * samples, per-second rates from two heartbeats' counters, and the SVG path of a small chart.
 * admin.page.ts puts it into the page's inline script; admin.trends.spec.ts runs the same text
 * in a VM, so what is tested is what the browser runs.
 */

/** How far back the charts go, and how many samples they keep (one a poll, a poll a second). */
export const TREND_WINDOW_MS = 5 * 60 * 1000;
export const TREND_SAMPLES = 300;
/** The shortest time a chart spans: a page just opened fills a minute, then up to the window. */
export const TREND_MIN_SPAN_MS = 60 * 1000;

export const ADMIN_TRENDS_SCRIPT = `
var TREND_WINDOW_MS = ${TREND_WINDOW_MS};
var TREND_SAMPLES = ${TREND_SAMPLES};
var TREND_MIN_SPAN_MS = ${TREND_MIN_SPAN_MS};
var COUNTERS = ["accepted", "deliveries", "unused"];

/** The last \`size\` samples { t, v } in time order; v null: not known at t (drawn as a gap). */
function Ring(size) {
  this.size = size;
  this.items = [];
  this.next = 0;
}
Ring.prototype.push = function (t, v) {
  var sample = { t: t, v: v };
  if (this.items.length < this.size) this.items.push(sample);
  else this.items[this.next] = sample;
  this.next = (this.next + 1) % this.size;
};
Ring.prototype.samples = function () {
  return this.items.length < this.size ? this.items.slice()
    : this.items.slice(this.next).concat(this.items.slice(0, this.next));
};
Ring.prototype.latest = function () {
  return this.items.length === 0 ? undefined : this.items[(this.next + this.size - 1) % this.size];
};
/** The time a chart of this ring spans at \`now\`: since its oldest sample, a minute to the window. */
Ring.prototype.span = function (now) {
  var oldest = this.items.length < this.size ? this.items[0] : this.items[this.next];
  var since = oldest === undefined ? 0 : now - oldest.t;
  return Math.min(TREND_WINDOW_MS, Math.max(TREND_MIN_SPAN_MS, since));
};

/**
 * Per-second rates between two heartbeats of one gateway ({ at, startedAt, accepted, deliveries,
 * unused }); undefined until a newer heartbeat than prev. A counter lower than before, or
 * another startedAt, is a restart: the counters count from zero since the process started, so
 * the rate is the new count over the time since then (never negative).
 */
function counterRates(prev, next) {
  if (!prev || !(next.at > prev.at)) return undefined;
  var restarted = next.startedAt !== prev.startedAt ||
    COUNTERS.some(function (k) { return next[k] < prev[k]; });
  var since = restarted ? Math.max(prev.at, typeof next.startedAt === "number" ? next.startedAt : prev.at) : prev.at;
  var dt = (next.at - Math.min(since, next.at - 1)) / 1000;
  var rates = {};
  COUNTERS.forEach(function (k) {
    rates[k] = Math.max(0, restarted ? next[k] : next[k] - prev[k]) / dt;
  });
  return rates;
}

/** The smallest 1, 2 or 5 times a power of ten at or above v (at least 1): the chart's top. */
function niceMax(v) {
  if (!(v > 1)) return 1;
  var p = Math.pow(10, Math.floor(Math.log10(v)));
  var steps = [1, 2, 5, 10];
  for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
  return 10 * p;
}

/**
 * The chart of the samples of the last \`windowMs\` before \`now\`, in a width x height box (y down):
 * \`line\` joins the known samples, \`area\` fills under them; an unknown sample (v null) breaks
 * both. \`top\` is the value at the top edge, \`max\` the largest sample shown.
 */
function chartPaths(samples, now, windowMs, width, height) {
  var shown = samples.filter(function (s) { return s.t > now - windowMs && s.t <= now; });
  var max = 0;
  shown.forEach(function (s) { if (s.v !== null && s.v > max) max = s.v; });
  var top = niceMax(max);
  var x = function (t) { return Math.round((width - (now - t) / windowMs * width) * 10) / 10; };
  var y = function (v) { return Math.round((height - v / top * height) * 10) / 10; };
  var line = "", area = "", run = [];
  function close() {
    if (run.length === 0) return;
    line += run.map(function (p, i) { return (i === 0 ? "M" : "L") + p[0] + " " + p[1]; }).join("");
    area += "M" + run[0][0] + " " + height + run.map(function (p) { return "L" + p[0] + " " + p[1]; }).join("") +
      "L" + run[run.length - 1][0] + " " + height + "Z";
    run = [];
  }
  shown.forEach(function (s) {
    if (s.v === null) close();
    else run.push([x(s.t), y(s.v)]);
  });
  close();
  return { line: line, area: area, top: top, max: max, count: shown.length };
}
`;
