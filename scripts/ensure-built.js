#!/usr/bin/env node
// Installs dependencies and builds when they are missing or older than their sources, so that
// `npm start` and `npm test` work on a fresh clone with nothing else run first.
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' });
const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);

function newestSource(dir, isSource = (name) => name.endsWith('.ts')) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full, isSource));
    else if (isSource(entry.name)) newest = Math.max(newest, mtime(full));
  }
  return newest;
}

const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');
if (mtime(installed) < mtime(lock)) {
  // `npm install` rather than `npm ci`: npm writes this lock file without the other platforms'
  // optional binaries (unrs-resolver's), which `npm ci` then refuses as out of sync.
  console.log('[setup] installing dependencies (npm install)');
  run('npm install --no-audit --no-fund');
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

// The web client (web/, bundled by Vite into dist/web); it takes event names and types from
// libs/contracts.
const webStamp = path.join(root, 'dist', 'web', '.built');
const webSources = Math.max(
  newestSource(path.join(root, 'web'), () => true),
  newestSource(path.join(root, 'libs', 'contracts', 'src')),
  mtime(lock),
);
if (mtime(webStamp) < webSources) {
  console.log('[setup] building the web client (vite)');
  run('npm run build:web --silent');
  fs.writeFileSync(webStamp, new Date().toISOString());
}
