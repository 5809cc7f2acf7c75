#!/usr/bin/env node
// `npm start`: a local cluster (presence, the api service, 3 gateways, and nginx in front of them when it is
// installed) until Ctrl-C, logs prefixed by service.
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const { entry, clusterServices, nginxUpstreams } = require('./services');
const { findNginx, writeLocalNginxConfig } = require('./nginx-config');

const colors = [36, 33, 35, 32, 34, 31];
const children = [];
let stopping = false;

function start(service, i) {
  const child = spawn(service.command ?? process.execPath, service.args ?? [entry(service.app)], {
    env: { ...process.env, ...service.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `\x1b[${colors[i % colors.length]}m${service.name.padEnd(10)}\x1b[0m |`;
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => console.log(prefix, line));
  }
  child.on('error', (err) => console.log(prefix, `cannot start: ${err.message}`));
  child.on('exit', (code, signal) => {
    console.log(prefix, `exited (${signal ?? code})`);
    if (!stopping) {
      if (service.hint) console.log(prefix, service.hint);
      stop(1);
    }
  });
  children.push(child);
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    process.exit(code);
  }, 10000);
  deadline.unref();
  Promise.all(
    children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on('exit', r)))),
  ).then(() => process.exit(code));
}

/** Prints the URL to open once nginx and the gateways answer, after their start-up logs. */
async function announce(url, gatewayUrls) {
  const up = async (u) => (await globalThis.fetch(u).catch(() => undefined))?.ok === true;
  const deadline = Date.now() + 30000;
  while (!stopping && Date.now() < deadline) {
    const checks = [up(`${url}/nginx-health`), ...gatewayUrls.map((g) => up(`${g}/health`))];
    if ((await Promise.all(checks)).every(Boolean)) {
      console.log(`roomcast: open ${url}/ (web client; Socket.IO and /stats on the same port)`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const services = clusterServices();
const gateways = services
  .filter((s) => s.app === 'gateway')
  .map((s) => `http://127.0.0.1:${s.env.PORT}`);
const api = services.find((s) => s.name === 'api');
const nginx = findNginx();
const { gateways: upstream, api: apiUpstream, port } = nginxUpstreams(services);
let entryUrl;
if (nginx) {
  // Config under .run/nginx, rendered from the same template as the docker compose one.
  const { args } = writeLocalNginxConfig({
    gateways: upstream,
    api: apiUpstream,
    listen: port,
  });
  services.push({
    name: 'nginx',
    command: nginx,
    args,
    hint: `nginx stopped: is port ${port} taken? Set NGINX_PORT to use another one.`,
  });
  entryUrl = `http://127.0.0.1:${port}`;
}
services.forEach(start);
console.log(
  `roomcast: gateways ${gateways.join(' ')}; api http://127.0.0.1:${api.env.PORT}/stats; Ctrl-C stops all`,
);
if (entryUrl) void announce(entryUrl, gateways);
else {
  console.log(
    `roomcast: nginx not found, so no web client and load balancer on :${port} (install it: \`sudo apt-get install -y nginx\`)`,
  );
}
