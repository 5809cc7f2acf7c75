#!/usr/bin/env node
// `npm start`: a local cluster (presence, stats, 3 gateways) until Ctrl-C, logs prefixed by service.
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const { entry, clusterServices } = require('./services');

const colors = [36, 33, 35, 32, 34, 31];
const children = [];
let stopping = false;

function start(service, i) {
  const child = spawn(process.execPath, [entry(service.app)], {
    env: { ...process.env, ...service.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `\x1b[${colors[i % colors.length]}m${service.name.padEnd(10)}\x1b[0m |`;
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => console.log(prefix, line));
  }
  child.on('exit', (code, signal) => {
    console.log(prefix, `exited (${signal ?? code})`);
    if (!stopping) stop(1);
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

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const services = clusterServices();
services.forEach(start);
const gateways = services
  .filter((s) => s.app === 'gateway')
  .map((s) => `http://127.0.0.1:${s.env.PORT}`);
const stats = services.find((s) => s.name === 'stats');
console.log(
  `roomcast: gateways ${gateways.join(' ')}; stats http://127.0.0.1:${stats.env.PORT}/stats; Ctrl-C stops all`,
);
