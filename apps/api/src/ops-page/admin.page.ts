/**
 * The operations page (GET /admin): plain HTML, no build step and no dependencies. Its script
 * polls /admin/state once a second (the next poll starts when the last one has answered, so a
 * slow cluster is not piled on) and redraws the tables with textContent only: room names,
 * instance ids, user ids and reasons are never parsed as HTML. The room rules come once from
 * /admin/rules (they are read at the service's start), and a room's rule from /admin/rules?room=
 * when asked; the CSP allows fetches to the page's own origin only, and no form submission.
 * Rates are the change of each gateway's counters between two of its heartbeats (HEARTBEAT_MS
 * apart, 2 s by default; a restarted gateway's counts from zero, never a negative rate). The
 * trends (accepted/s, deliveries/s, connections, each receiver's webhook backlog) are samples the
 * page keeps itself, one a poll, for TREND_WINDOW_MS (admin.trends.ts), drawn as inline SVG:
 * they start when the page is opened.
 */
import { ADMIN_TRENDS_SCRIPT } from './admin.trends';

/** How many of the most recent bans, and of the most recent mutes, the page shows. */
export const ADMIN_SANCTION_ROWS = 100;

export const ADMIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>roomcast operations</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2430; background: #fafbfc; }
  h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
  h2 { font-size: 1rem; margin: 1.5rem 0 .4rem; }
  #status { font-size: .85rem; color: #555; }
  #status.live::before { content: "\\25CF "; color: #1a7f37; }
  #status.error::before { content: "\\25CF "; color: #cf222e; }
  .totals { display: flex; gap: 1rem; margin-top: 1rem; flex-wrap: wrap; }
  .totals div { background: #fff; border: 1px solid #d8dee4; border-radius: 6px; padding: .5rem .9rem; min-width: 7rem; }
  .totals b { display: block; font-size: 1.4rem; font-variant-numeric: tabular-nums; }
  table { border-collapse: collapse; background: #fff; border: 1px solid #d8dee4; min-width: 30rem; }
  th, td { padding: .3rem .7rem; border-bottom: 1px solid #eaeef2; text-align: left; }
  th { background: #f3f5f7; font-weight: 600; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  td.stale { color: #cf222e; }
  .empty { color: #777; font-style: italic; }
  .lookup { margin: .6rem 0 .4rem; display: flex; gap: .5rem; align-items: center; }
  .lookup input { font: inherit; padding: .25rem .5rem; border: 1px solid #d8dee4; border-radius: 6px; width: 16rem; }
  .lookup button { font: inherit; padding: .25rem .8rem; border: 1px solid #d8dee4; border-radius: 6px; background: #f3f5f7; cursor: pointer; }
  #rule-source { margin: 0 0 .4rem; font-size: .9rem; }
  #rule-source.error { color: #cf222e; }
  .trends { display: flex; gap: 1rem; flex-wrap: wrap; }
  .trend { margin: 0; background: #fff; border: 1px solid #d8dee4; border-radius: 6px; padding: .5rem .9rem; width: 18rem; }
  .trend figcaption { display: flex; justify-content: space-between; align-items: baseline; }
  .trend figcaption b { font-size: 1.1rem; font-variant-numeric: tabular-nums; }
  .trend svg { display: block; width: 100%; height: 4rem; margin-top: .3rem; border-bottom: 1px solid #d8dee4; }
  .trend .axis { display: flex; justify-content: space-between; font-size: .75rem; color: #777; }
  svg .line { fill: none; stroke: #0969da; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
  svg .area { fill: #0969da; fill-opacity: .12; stroke: none; }
  td svg { display: block; width: 10rem; height: 1.4rem; }
</style>
</head>
<body>
<h1>roomcast operations</h1>
<div id="status">connecting</div>
<div class="totals">
  <div>online users<b id="online">-</b></div>
  <div>connections<b id="connections">-</b></div>
  <div>rooms<b id="rooms">-</b></div>
  <div>gateways<b id="gateways">-</b></div>
  <div>accepted/s<b id="accepted">-</b></div>
  <div>deliveries/s<b id="deliveries">-</b></div>
</div>
<h2>Trends <span class="empty">(up to the last 5 min, from when this page was opened)</span></h2>
<div class="trends">
  <figure class="trend" id="trend-accepted">
    <figcaption><span>accepted/s</span><b class="now">-</b></figcaption>
    <svg viewBox="0 0 300 64" preserveAspectRatio="none" role="img" aria-label="accepted/s, up to the last 5 min"><path class="area"/><path class="line"/></svg>
    <div class="axis"><span class="from">1 min ago</span><span class="top"></span><span>now</span></div>
  </figure>
  <figure class="trend" id="trend-deliveries">
    <figcaption><span>deliveries/s</span><b class="now">-</b></figcaption>
    <svg viewBox="0 0 300 64" preserveAspectRatio="none" role="img" aria-label="deliveries/s, up to the last 5 min"><path class="area"/><path class="line"/></svg>
    <div class="axis"><span class="from">1 min ago</span><span class="top"></span><span>now</span></div>
  </figure>
  <figure class="trend" id="trend-connections">
    <figcaption><span>connections</span><b class="now">-</b></figcaption>
    <svg viewBox="0 0 300 64" preserveAspectRatio="none" role="img" aria-label="connections, up to the last 5 min"><path class="area"/><path class="line"/></svg>
    <div class="axis"><span class="from">1 min ago</span><span class="top"></span><span>now</span></div>
  </figure>
</div>
<h2>Gateways</h2>
<table id="instances"><thead><tr>
  <th>instance</th><th>connections</th><th>rooms</th><th>up</th><th>last heartbeat</th>
  <th>accepted/s</th><th>deliveries/s</th><th>unused/s</th><th>unused total</th>
</tr></thead><tbody></tbody></table>
<h2>Webhook receivers</h2>
<table id="webhooks"><thead><tr>
  <th>receiver</th><th>backlog</th><th>highest</th><th>trend</th>
</tr></thead><tbody></tbody></table>
<h2>Busiest rooms</h2>
<table id="top-rooms"><thead><tr>
  <th>room</th><th>users</th><th>connections</th><th>bound gateways</th>
</tr></thead><tbody></tbody></table>
<h2>Bans <span id="bans-count" class="empty"></span></h2>
<table id="bans"><thead><tr>
  <th>room</th><th>user</th><th>ends</th><th>reason</th><th>given</th>
</tr></thead><tbody></tbody></table>
<h2>Mutes <span id="mutes-count" class="empty"></span></h2>
<table id="mutes"><thead><tr>
  <th>room</th><th>user</th><th>ends</th><th>reason</th><th>given</th>
</tr></thead><tbody></tbody></table>
<h2>Room rules</h2>
<table id="rules"><thead><tr><th>prefix</th><th>settings</th></tr></thead><tbody></tbody></table>
<div class="lookup">
  <label for="rule-room">A room's rule</label>
  <input id="rule-room" type="text" maxlength="64" placeholder="room name" autocomplete="off" spellcheck="false">
  <button id="rule-show" type="button">Show</button>
</div>
<div id="rule-source"></div>
<table id="rule" hidden><thead><tr><th>setting</th><th>value</th></tr></thead><tbody></tbody></table>
<h2>Routing map <span id="routing-count" class="empty"></span></h2>
<table id="routing"><thead><tr><th>routing key</th><th>bound gateways</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
var POLL_MS = 1000;
var SANCTION_ROWS = ${ADMIN_SANCTION_ROWS};
var last = {}; // instance id -> { beat: { at, startedAt, accepted, deliveries, unused }, rates }
${ADMIN_TRENDS_SCRIPT}
var trends = {
  accepted: new Ring(TREND_SAMPLES),
  deliveries: new Ring(TREND_SAMPLES),
  connections: new Ring(TREND_SAMPLES),
};
var backlogs = {}; // receiver URL -> Ring

/** A cell's content: text, or an element (a chart). */
function cell(row, text, cls) {
  var td = document.createElement("td");
  if (text instanceof Element) td.appendChild(text);
  else td.textContent = String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
}
function fill(table, rows, columns, empty) {
  var body = document.querySelector("#" + table + " tbody");
  var fresh = document.createElement("tbody");
  if (rows.length === 0) {
    var tr = fresh.insertRow();
    var td = document.createElement("td");
    td.colSpan = columns;
    td.className = "empty";
    td.textContent = empty;
    tr.appendChild(td);
  }
  rows.forEach(function (cells) {
    var tr = fresh.insertRow();
    cells.forEach(function (c) { cell(tr, c[0], c[1]); });
  });
  body.replaceWith(fresh);
}
function ago(ms) {
  var s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}
function rate(n) { return n === undefined ? "-" : n < 10 ? n.toFixed(1) : String(Math.round(n)); }

/** Per-second rates from the counters of this heartbeat and of the one before (counterRates). */
function rates(inst) {
  var m = inst.metrics, seen = last[inst.id];
  if (!m) return {};
  var beat = { at: m.at, startedAt: inst.startedAt, accepted: m.accepted, deliveries: m.deliveries, unused: m.unused };
  if (seen && seen.beat.at === beat.at) return seen.rates;
  var r = counterRates(seen && seen.beat, beat);
  last[inst.id] = { beat: beat, rates: r || {} };
  return last[inst.id].rates;
}

var SVG_NS = "http://www.w3.org/2000/svg";
/** Draws a ring's samples (its span before now) into an svg holding path.area and path.line. */
function draw(svg, ring, now) {
  var box = svg.viewBox.baseVal;
  var c = chartPaths(ring.samples(), now, ring.span(now), box.width, box.height);
  svg.querySelector(".line").setAttribute("d", c.line);
  svg.querySelector(".area").setAttribute("d", c.area);
  return c;
}
function sparkline() {
  var svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 160 24");
  svg.setAttribute("preserveAspectRatio", "none");
  ["area", "line"].forEach(function (cls) {
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("class", cls);
    svg.appendChild(path);
  });
  return svg;
}
/** The three charts: a sample of this poll, then each drawn with its latest value and its top. */
function trend(now, values) {
  Object.keys(trends).forEach(function (k) {
    trends[k].push(now, values[k] === undefined ? null : values[k]);
    var fig = document.getElementById("trend-" + k);
    var c = draw(fig.querySelector("svg"), trends[k], now);
    var v = trends[k].latest().v;
    fig.querySelector(".now").textContent = v === null ? "-" : k === "connections" ? String(v) : rate(v);
    fig.querySelector(".top").textContent = "top " + c.top;
    fig.querySelector(".from").textContent = ago(trends[k].span(now)) + " ago";
  });
}
/** Each webhook receiver with its backlog now, the highest the chart shows, and the chart. */
function webhooks(list, now) {
  var urls = {};
  fill("webhooks", list.map(function (w) {
    urls[w.url] = true;
    var ring = backlogs[w.url] || (backlogs[w.url] = new Ring(TREND_SAMPLES));
    ring.push(now, w.backlog);
    var svg = sparkline();
    var c = draw(svg, ring, now);
    return [[w.url], [w.backlog === null ? "broker not answering" : w.backlog, "n"], [c.max, "n"], [svg]];
  }), 4, "no webhook receivers");
  Object.keys(backlogs).forEach(function (u) { if (!urls[u]) delete backlogs[u]; });
}

function render(s) {
  var st = s.stats, now = s.at, sumA = 0, sumD = 0, known = false;
  document.getElementById("online").textContent = st.online;
  document.getElementById("connections").textContent = st.connections;
  document.getElementById("rooms").textContent = st.rooms;
  document.getElementById("gateways").textContent = st.instances.length;
  var ids = {};
  fill("instances", st.instances.map(function (i) {
    ids[i.id] = true;
    var r = rates(i);
    if (r.accepted !== undefined) { known = true; sumA += r.accepted; sumD += r.deliveries; }
    var age = now - i.lastSeenAt;
    return [[i.id], [i.connections, "n"], [i.rooms, "n"], [ago(now - i.startedAt), "n"],
      [ago(age) + " ago", age > 5000 ? "n stale" : "n"], [rate(r.accepted), "n"],
      [rate(r.deliveries), "n"], [rate(r.unused), "n"], [i.metrics ? i.metrics.unused : "-", "n"]];
  }), 9, "no gateway is live");
  Object.keys(last).forEach(function (id) { if (!ids[id]) delete last[id]; });
  document.getElementById("accepted").textContent = known ? rate(sumA) : "-";
  document.getElementById("deliveries").textContent = known ? rate(sumD) : "-";
  trend(now, known ? { accepted: sumA, deliveries: sumD, connections: st.connections } : { connections: st.connections });
  webhooks(s.webhooks || [], now);
  fill("top-rooms", s.rooms.map(function (r) {
    return [[r.room], [r.users, "n"], [r.connections, "n"], [r.instances.join(", ") || "-"]];
  }), 4, "no room has a member");
  fill("routing", s.routing.map(function (r) {
    return [["room." + r.room], [r.instances.join(", ")]];
  }), 2, "no binding");
  document.getElementById("routing-count").textContent =
    s.routedRooms > s.routing.length ? "(" + s.routing.length + " of " + s.routedRooms + " rooms; every page: /stats/routing)" : "";
  sanctions(s);
}

/** A ban's or mute's row: room, user, when it ends, why, how long ago it was given. */
function sanction(now) {
  return function (b) {
    return [[b.room], [b.userId], [b.until === null ? "when lifted" : "in " + ago(b.until - now)],
      [b.reason === undefined ? "-" : b.reason], [ago(now - b.at) + " ago"]];
  };
}
function sanctions(s) {
  fill("bans", s.bans.map(sanction(s.at)), 5, "no ban in force");
  fill("mutes", s.mutes.map(sanction(s.at)), 5, "no mute in force");
  document.getElementById("bans-count").textContent =
    s.bans.length >= SANCTION_ROWS ? "(the " + SANCTION_ROWS + " most recent)" : "";
  document.getElementById("mutes-count").textContent =
    s.mutes.length >= SANCTION_ROWS ? "(the " + SANCTION_ROWS + " most recent)" : "";
}

/** A rule's settings as "name: value" pairs, in the order the page lists them. */
var SETTINGS = ["historyMax", "historyMaxAgeMs", "presence", "typing", "publish", "maxMembers", "requiresClaim"];
function shown(name, value) {
  if (name === "maxMembers" && value === null) return "no cap";
  if (name === "historyMaxAgeMs") return ago(value);
  return String(value);
}
function settings(rule) {
  var given = SETTINGS.filter(function (k) { return rule[k] !== undefined; });
  return given.length === 0 ? "(none: the defaults)" :
    given.map(function (k) { return k + ": " + shown(k, rule[k]); }).join(", ");
}
function getJson(url) {
  return fetch(url, { cache: "no-store", credentials: "same-origin" }).then(function (res) {
    return res.json().catch(function () { return {}; }).then(function (body) {
      if (!res.ok) throw new Error(body && body.error && body.error.message ? body.error.message : "HTTP " + res.status);
      return body;
    });
  });
}
function loadRules() {
  getJson("/admin/rules").then(function (r) {
    fill("rules", r.rules.map(function (e) { return [[e.prefix], [settings(e.rule)]]; }), 2,
      "no room rule: every room has the defaults (" + settings(r.defaults) + ")");
  }).catch(function (err) {
    fill("rules", [], 2, "cannot read the rules: " + err.message);
  });
}
function showRule() {
  var name = document.getElementById("rule-room").value.trim();
  var source = document.getElementById("rule-source");
  var table = document.getElementById("rule");
  if (name === "") return;
  getJson("/admin/rules?room=" + encodeURIComponent(name)).then(function (r) {
    source.className = "";
    source.textContent = r.rule.prefix === null
      ? r.room + ": no rule matches; the service's own settings"
      : r.room + ": from the rule " + JSON.stringify(r.rule.prefix);
    fill("rule", SETTINGS.map(function (k) { return [[k], [shown(k, r.rule[k])]]; }), 2, "");
    table.hidden = false;
  }).catch(function (err) {
    source.className = "error";
    source.textContent = name + ": " + err.message;
    table.hidden = true;
  });
}
document.getElementById("rule-show").addEventListener("click", showRule);
document.getElementById("rule-room").addEventListener("keydown", function (e) {
  if (e.key === "Enter") showRule();
});

function status(text, cls) {
  var el = document.getElementById("status");
  el.textContent = text;
  el.className = cls;
}

function poll() {
  fetch("/admin/state", { cache: "no-store", credentials: "same-origin" })
    .then(function (res) {
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.json();
    })
    .then(function (s) {
      render(s);
      status("live, updated " + new Date(s.at).toLocaleTimeString(), "live");
    })
    .catch(function (err) { status("not updating: " + err.message, "error"); })
    .then(function () { setTimeout(poll, POLL_MS); });
}
loadRules();
poll();
</script>
</body>
</html>
`;
