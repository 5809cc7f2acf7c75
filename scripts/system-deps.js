#!/usr/bin/env node
// The Debian packages roomcast uses besides Node, Redis and RabbitMQ: nginx (the load balancer of
// `npm start` and the e2e tests), chromium (the browser test; playwright cannot download a
// browser on these machines), prometheus (its server and promtool, for the monitoring tests) and
// docker-compose (parses docker-compose.yml in the tests; no container engine needed). One place
// decides how they get installed, for `npm test`, `npm start` and `.ci/run`:
//
//   node scripts/system-deps.js nginx chromium    install what is missing, or exit 1 saying how
//   node scripts/system-deps.js --optional nginx  install what is missing when it can; else go on
//
// As root with apt-get, a missing package is installed quietly (its output is shown only when
// apt-get fails). Otherwise it stops at once with one line naming the command to run. Nothing is
// printed when every package is there. prometheus and docker-compose come without their
// recommended packages (a node exporter, a whole container engine), and the Prometheus service
// that the package's install starts where it can is stopped and disabled at once: the tests run
// Prometheus themselves, on ports of their own.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { findNginx } = require('./nginx-config');

/** What each package provides, found where the code that runs it looks. */
const PACKAGES = {
  nginx: { present: (env) => findNginx(env) !== undefined },
  // libs/testing/src/browser.ts launches this path.
  chromium: { present: (env) => fs.existsSync(env.CHROMIUM_PATH ?? '/usr/bin/chromium') },
  // test/suites/monitoring.ts runs both from the PATH.
  prometheus: {
    present: (env) => onPath('prometheus', env) && onPath('promtool', env),
    noRecommends: true,
    services: ['prometheus'],
  },
  'docker-compose': { present: (env) => onPath('docker-compose', env), noRecommends: true },
};

function onPath(bin, env) {
  return (env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .some((dir) => fs.existsSync(path.join(dir, bin)));
}

/**
 * What to do about the `missing` packages: nothing, install them with apt-get, or stop with a
 * line naming the command to run. Pure, so that every branch has a test.
 */
function plan(missing, { root, apt }) {
  if (missing.length === 0) return { action: 'none' };
  const list = missing.join(' ');
  // One install per kind: with recommended packages (as before) and without them.
  const plain = missing.filter((n) => !PACKAGES[n].noRecommends);
  const bare = missing.filter((n) => PACKAGES[n].noRecommends);
  const installs = [
    ...(plain.length ? [['-y', ...plain]] : []),
    ...(bare.length ? [['-y', '--no-install-recommends', ...bare]] : []),
  ];
  if (root && apt) {
    const services = missing.flatMap((n) => PACKAGES[n].services ?? []);
    return {
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ...installs.map(([y, ...rest]) => ['apt-get', 'install', y, '-qq', ...rest]),
      ],
      ...(services.length && { after: services.map(stopServiceCommand) }),
    };
  }
  const how = apt
    ? `run ${installs.map((args) => `\`sudo apt-get install ${args.join(' ')}\``).join(' and ')}`
    : `install with your package manager (Debian/Ubuntu: ${installs
        .map((args) => `\`apt-get install ${args.join(' ')}\``)
        .join(' and ')})`;
  return { action: 'ask', line: `${list} not installed: ${how}` };
}

/**
 * Stops and disables a service a package's install started (systemd), or stops it (an init
 * script, where policy-rc.d allowed the start). Nothing else on the machine is touched.
 */
function stopServiceCommand(name) {
  return [
    'sh',
    '-c',
    `if [ -d /run/systemd/system ]; then systemctl disable --now ${name}; ` +
      `elif [ -x /etc/init.d/${name} ]; then /etc/init.d/${name} stop; fi`,
  ];
}

/** Runs one command, its output kept for a failure; throws with that output. */
function runQuiet(cmd, args) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim();
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed (${r.status ?? r.signal}):\n${output}`);
  }
}

/**
 * Makes sure `names` are installed and returns the ones still missing. Without `optional` it exits
 * 1 with one line when it cannot install them; with it, it goes on (the caller says what it does
 * without them).
 */
function ensureSystemPackages(names, { optional = false, env = process.env } = {}) {
  const missing = () => names.filter((n) => !PACKAGES[n].present(env));
  const p = plan(missing(), { root: process.getuid?.() === 0, apt: onPath('apt-get', env) });
  const fail = (line, detail) => {
    if (optional) return;
    if (detail) console.error(detail);
    console.error(`[setup] ${line}`);
    process.exit(1);
  };
  if (p.action === 'ask') fail(p.line);
  if (p.action === 'install') {
    const list = missing().join(' ');
    console.log(`[setup] installing ${list} (apt-get)`);
    try {
      for (const [cmd, ...args] of p.commands) runQuiet(cmd, args);
      for (const [cmd, ...args] of p.after ?? []) {
        try {
          runQuiet(cmd, args);
        } catch (err) {
          console.log(`[setup] ${err.message.split('\n')[0]} (left as it is)`);
        }
      }
    } catch (err) {
      const last = err.message.trim().split('\n').at(-1);
      if (optional) console.log(`[setup] could not install ${list} (${last}); going on without`);
      fail(`could not install ${list}`, err.message);
    }
    const still = missing();
    if (still.length > 0) {
      fail(
        `${still.join(' ')} still not found after apt-get ` +
          '(NGINX_BIN / CHROMIUM_PATH set? prometheus, promtool, docker-compose on the PATH?)',
      );
    }
  }
  return missing();
}

module.exports = { PACKAGES, plan, ensureSystemPackages };

if (require.main === module) {
  const args = process.argv.slice(2);
  const optional = args.includes('--optional');
  const names = args.filter((a) => a !== '--optional');
  const unknown = names.filter((n) => !PACKAGES[n]);
  if (names.length === 0 || unknown.length > 0) {
    console.error(
      `usage: node scripts/system-deps.js [--optional] <${Object.keys(PACKAGES).join('|')}>...`,
    );
    process.exit(2);
  }
  ensureSystemPackages(names, { optional });
}
