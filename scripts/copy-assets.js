#!/usr/bin/env node
// Copies what tsc does not emit into dist/: the Lua scripts of libs/*/src (loaded at start by
// the store's script runner from beside its compiled code).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const ASSET = /\.lua$/;

function copyTree(from, to) {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    if (entry.isDirectory()) copyTree(src, path.join(to, entry.name));
    else if (ASSET.test(entry.name)) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, path.join(to, entry.name));
    }
  }
}

// `node scripts/copy-assets.js [OUT]`: into dist/ (the build) or OUT (dist-testing/, whose
// harness loads the store through @roomcast/delivery).
const out = path.resolve(root, process.argv[2] ?? 'dist');
for (const lib of fs.readdirSync(path.join(root, 'libs'))) {
  const src = path.join(root, 'libs', lib, 'src');
  if (fs.existsSync(src)) copyTree(src, path.join(out, 'libs', lib, 'src'));
}
