#!/usr/bin/env node
// The Debian packages roomcast uses besides Node, Redis and RabbitMQ: nginx (the load balancer of
// `npm start` and the e2e tests) and chromium (the browser test; playwright cannot download a
// browser on these machines). One place decides how they get installed, for `npm test`,
// `npm start` and `.ci/run`:
//
//   node scripts/system-deps.js nginx chromium    install what is missing, or exit 1 saying how
//   node scripts/system-deps.js --optional nginx  install what is missing when it can; else go on
//
// As root with apt-get, a missing package is installed quietly (its output is shown only when
// apt-get fails). Otherwise it stops at once with one line naming the command to run. Nothing is
// printed when every package is there.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { findNginx } = require('./nginx-config');

/** What each package provides, found where the code that runs it looks. */
const PACKAGES = {
  nginx: { present: (env) => findNginx(env) !== undefined },
  // libs/testing/src/browser.ts launches this path.
  chromium: { present: (env) => fs.existsSync(env.CHROMIUM_PATH ?? '/usr/bin/chromium') },
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
  if (root && apt) {
    return {
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', ...missing],
      ],
    };
  }
  const how = apt
    ? `run \`sudo apt-get install -y ${list}\``
    : `install with your package manager (Debian/Ubuntu: \`apt-get install -y ${list}\`)`;
  return { action: 'ask', line: `${list} not installed: ${how}` };
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
    } catch (err) {
      const last = err.message.trim().split('\n').at(-1);
      if (optional) console.log(`[setup] could not install ${list} (${last}); going on without`);
      fail(`could not install ${list}`, err.message);
    }
    const still = missing();
    if (still.length > 0) {
      fail(`${still.join(' ')} still not found after apt-get (NGINX_BIN / CHROMIUM_PATH set?)`);
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
