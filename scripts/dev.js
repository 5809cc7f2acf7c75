#!/usr/bin/env node
// `npm run start:dev -- <gateway|presence|api>`: rebuilds on change and restarts the service.
const { spawn, execSync } = require('node:child_process');
const { root, entry } = require('./services');

const app = process.argv[2];
if (!['gateway', 'presence', 'api'].includes(app)) {
  console.error('usage: npm run start:dev -- <gateway|presence|api>');
  process.exit(2);
}
execSync('node scripts/ensure-built.js', { cwd: root, stdio: 'inherit' });
const bin = (name) => require.resolve(`${name}/package.json`).replace(/package\.json$/, '');
const children = [
  spawn(
    process.execPath,
    [
      `${bin('typescript')}bin/tsc`,
      '-p',
      'tsconfig.build.json',
      '--watch',
      '--preserveWatchOutput',
    ],
    { cwd: root, stdio: 'inherit' },
  ),
  spawn(
    process.execPath,
    [`${bin('tsc-alias')}dist/bin/index.js`, '-p', 'tsconfig.build.json', '--watch'],
    { cwd: root, stdio: 'inherit' },
  ),
  spawn(process.execPath, ['--watch', entry(app)], { cwd: root, stdio: 'inherit' }),
];
const stop = () => {
  for (const c of children) c.kill('SIGTERM');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
