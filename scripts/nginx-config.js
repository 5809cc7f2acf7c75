#!/usr/bin/env node
// Renders nginx/nginx.conf.template into the docker compose config (nginx/nginx.conf, committed)
// and into local configs for `npm start` and the browser test (nginx as a plain user process:
// every path it writes under one prefix directory, no daemon).
//
//   node scripts/nginx-config.js compose           rewrite nginx/nginx.conf from the template
//   node scripts/nginx-config.js compose --check   exit 1 when nginx/nginx.conf is out of date
//   node scripts/nginx-config.js local [prefix]    write <prefix>/nginx.conf (default .run/nginx)
//                                                  for the npm start ports and print how to run it
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const TEMPLATE = path.join(root, 'nginx', 'nginx.conf.template');
const COMPOSE_CONF = path.join(root, 'nginx', 'nginx.conf');
const LOCAL_PREFIX = path.join(root, '.run', 'nginx');
const TEMP_DIRS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];
/** Open files per worker, and connections per worker (at most that many). */
const MAX_FILES = 65536;
const MAX_CONNECTIONS = 32768;

/** The docker compose services nginx fronts (docker-compose.yml must define the same). */
const COMPOSE = {
  gateways: ['gateway-1:3001', 'gateway-2:3001', 'gateway-3:3001'],
  api: 'api:3000',
  port: 8080,
};

/**
 * Fills the template. `gateways` and `api` are `host:port`; `tempDir`, when set, holds nginx's
 * temp files (the compiled-in ones are root-owned system paths).
 */
function renderNginxConfig(opts) {
  const values = {
    generated: `Generated from nginx/nginx.conf.template by scripts/nginx-config.js (${opts.target}): edit the template.`,
    worker_processes: String(opts.workerProcesses ?? 'auto'),
    worker_rlimit_nofile: String(opts.maxFiles ?? MAX_FILES),
    worker_connections: String(Math.min(MAX_CONNECTIONS, opts.maxFiles ?? MAX_FILES)),
    pid: opts.pid,
    access_log: opts.accessLog ?? 'off',
    temp_paths: opts.tempDir
      ? TEMP_DIRS.map((d) => `  ${d}_temp_path ${path.join(opts.tempDir, d)};\n`).join('')
      : '',
    gateway_servers: opts.gateways.map((g) => `    server ${g};`).join('\n'),
    api_server: opts.api,
    listen: String(opts.listen),
    web_root: opts.webRoot,
  };
  const template = fs.readFileSync(TEMPLATE, 'utf8');
  return template.replace(/\{\{(\w+)\}\}/g, (_, name) => {
    if (values[name] === undefined) throw new Error(`nginx template: no value for {{${name}}}`);
    return values[name];
  });
}

/** nginx/nginx.conf: the docker compose services, the web client baked into the nginx image. */
function composeNginxConfig() {
  return renderNginxConfig({
    target: 'compose',
    gateways: COMPOSE.gateways,
    api: COMPOSE.api,
    listen: COMPOSE.port,
    webRoot: '/usr/share/nginx/html',
    pid: '/var/run/nginx.pid',
    accessLog: '/var/log/nginx/access.log',
  });
}

/**
 * Writes a config for nginx on this machine under `prefix` (pid, logs, temp files there too) and
 * returns the arguments that run it in the foreground: `nginx ...args`.
 */
function writeLocalNginxConfig({
  prefix = LOCAL_PREFIX,
  gateways,
  api,
  listen = 8080,
  webRoot = path.join(root, 'dist', 'web'),
  workerProcesses = 'auto',
  accessLog = path.join(prefix, 'access.log'),
}) {
  prefix = path.resolve(prefix);
  const tempDir = path.join(prefix, 'temp');
  fs.mkdirSync(tempDir, { recursive: true });
  // Workers drop to `nobody` when nginx runs as root: they must reach the temp dirs.
  fs.chmodSync(prefix, 0o755);
  fs.chmodSync(tempDir, 0o755);
  const conf = path.join(prefix, 'nginx.conf');
  const text = renderNginxConfig({
    target: 'local',
    gateways,
    api,
    listen,
    webRoot,
    workerProcesses,
    accessLog,
    tempDir,
    pid: path.join(prefix, 'nginx.pid'),
    // Without the privilege to raise it, asking for more than the hard limit only logs alerts.
    maxFiles: Math.min(MAX_FILES, openFileHardLimit()),
  });
  fs.writeFileSync(conf, text);
  // -e: the error log before the config is read (the default is a root-owned system path).
  return { conf, args: ['-p', prefix, '-c', conf, '-e', 'stderr', '-g', 'daemon off;'] };
}

function openFileHardLimit() {
  try {
    const out = execFileSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Infinity : Number(out) || MAX_FILES;
  } catch {
    return MAX_FILES;
  }
}

/** The nginx binary, also where a plain user's PATH lacks the sbin directories; or undefined. */
function findNginx(env = process.env) {
  if (env.NGINX_BIN) return fs.existsSync(env.NGINX_BIN) ? env.NGINX_BIN : undefined;
  const dirs = [...(env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = path.join(dir, 'nginx');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

module.exports = {
  COMPOSE,
  COMPOSE_CONF,
  LOCAL_PREFIX,
  renderNginxConfig,
  composeNginxConfig,
  writeLocalNginxConfig,
  findNginx,
};

if (require.main === module) {
  const [mode, arg] = process.argv.slice(2);
  if (mode === 'compose') {
    const text = composeNginxConfig();
    if (arg === '--check') {
      const current = fs.existsSync(COMPOSE_CONF) ? fs.readFileSync(COMPOSE_CONF, 'utf8') : '';
      if (current !== text) {
        console.error('nginx/nginx.conf is out of date: run node scripts/nginx-config.js compose');
        process.exit(1);
      }
    } else {
      fs.writeFileSync(COMPOSE_CONF, text);
      console.log(`wrote ${path.relative(root, COMPOSE_CONF)}`);
    }
  } else if (mode === 'local') {
    const { clusterServices, nginxUpstreams } = require('./services');
    const { gateways, api, port } = nginxUpstreams(clusterServices());
    const { conf, args } = writeLocalNginxConfig({ prefix: arg, gateways, api, listen: port });
    console.log(`wrote ${conf}; run: ${findNginx() ?? 'nginx'} ${args.map(quote).join(' ')}`);
  } else {
    console.error('usage: node scripts/nginx-config.js compose [--check] | local [prefix]');
    process.exit(2);
  }
}

function quote(arg) {
  return /^[\w./:-]+$/.test(arg) ? arg : `'${arg}'`;
}
