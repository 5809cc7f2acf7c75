#!/usr/bin/env node
// Installs dependencies and builds when they are missing or older than their sources, so that
// `npm start` and `npm test` work on a fresh clone with nothing else run first.
const { execSync, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' });
const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);

function newestSource(dir, isSource = (name) => name.endsWith('.ts') || name.endsWith('.lua')) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    // Build output (libs/client/dist's .d.ts files) and installed packages are not sources.
    if (entry.isDirectory() && (entry.name === 'dist' || entry.name === 'node_modules')) continue;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full, isSource));
    else if (isSource(entry.name)) newest = Math.max(newest, mtime(full));
  }
  return newest;
}

const lock = path.join(root, 'package-lock.json');
const modules = path.join(root, 'node_modules');
// The lock file `npm ci` last installed, by content: a checkout that only touches the file does
// not reinstall.
const installedStamp = path.join(modules, '.roomcast-lock.sha256');
const lockHash = crypto.createHash('sha256').update(fs.readFileSync(lock)).digest('hex');
const installedHash = fs.existsSync(installedStamp) ? fs.readFileSync(installedStamp, 'utf8') : '';
const upToDate =
  installedHash === lockHash ||
  // Installed (by hand, or by npm ci here) after the lock last changed.
  mtime(path.join(modules, '.package-lock.json')) >= mtime(lock);
if (!upToDate && fs.lstatSync(modules, { throwIfNoEntry: false })?.isSymbolicLink()) {
  // A worktree borrowing another checkout's node_modules: `npm ci` would empty that one too.
  console.log('[setup] node_modules is a symlink, so not reinstalling it: run `npm ci` yourself');
} else if (!upToDate) {
  // `npm ci`: exactly the lock file, or a failure when package.json and the lock disagree.
  // Errors only: the warnings left are the engine ranges some dev tools declare (see docs/operations.md, Supported runtimes).
  console.log('[setup] installing dependencies (npm ci)');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout}${r.stderr}${r.error?.message ?? ''}\n`);
    console.error('[setup] npm ci failed (output above)');
    process.exit(1);
  }
  fs.writeFileSync(installedStamp, lockHash);
}

const stamp = path.join(root, 'dist', '.built');
const sources = Math.max(
  newestSource(path.join(root, 'apps')),
  newestSource(path.join(root, 'libs')),
  mtime(path.join(root, 'tsconfig.json')),
  mtime(path.join(root, 'tsconfig.build.json')),
);
if (mtime(stamp) < sources) {
  console.log('[setup] building (tsc)');
  run('npm run build --silent');
  fs.writeFileSync(stamp, new Date().toISOString());
}

// The web client (web/, bundled by Vite into dist/web); it bundles the SDK (libs/client) and
// takes event names and types from libs/contracts.
const webStamp = path.join(root, 'dist', 'web', '.built');
const webSources = Math.max(
  newestSource(path.join(root, 'web'), () => true),
  newestSource(path.join(root, 'libs', 'contracts', 'src')),
  newestSource(path.join(root, 'libs', 'client', 'src')),
  mtime(lock),
);
if (mtime(webStamp) < webSources) {
  console.log('[setup] building the web client (vite)');
  run('npm run build:web --silent');
  fs.writeFileSync(webStamp, new Date().toISOString());
}
