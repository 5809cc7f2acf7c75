#!/usr/bin/env node
// Adds to package-lock.json the per-platform native bindings that npm could not look up here, so
// that `npm ci` accepts the lock on this machine and on every other platform.
//
//   node scripts/lock-platform-bindings.js          add the missing entries (after `npm install`)
//   node scripts/lock-platform-bindings.js --check  exit 1, naming them, when some are missing
//
// Why: jest 30's resolver (jest-resolve -> unrs-resolver) lists one optional package per platform
// (`@unrs/resolver-binding-darwin-arm64`, `-linux-x64-gnu`, ...). npm writes a lock entry for an
// optional dependency only when the registry answers for it, and this machine's registry mirror
// serves only the linux x64/arm64 ones (`npm view @unrs/resolver-binding-android-arm-eabi@1.13.0`
// answers 404). The lock then lacks the other 17, and `npm ci` refuses it ("Missing:
// @unrs/resolver-binding-android-arm-eabi@ from lock file"). Nothing in npm fixes that: an
// `overrides` entry cannot drop an optional dependency, `--omit=optional` also drops the binding
// this machine needs, and every jest 30 depends on unrs-resolver.
//
// So this script writes those entries itself, as npm would for a registry that answered: the
// exact version the parent asks for, `optional: true`, the parent's `dev` flag, and the os/cpu/libc
// that napi-rs (which builds these packages) puts in the name: `<package>-<os>-<cpu>[-<abi>]`, with
// `libc` only for the `gnu` (glibc) and `musl` abis. npm skips an entry whose os/cpu/libc do not
// match without fetching it; on a matching platform it fetches `name@version` from the registry
// (with no integrity hash to check it against, as for any entry written without one). The entries
// npm did write here carry the same fields, and test/repo/lockfile.spec.ts checks that the naming rule
// gives exactly their os/cpu/libc (for unrs, rolldown, lightningcss and parcel bindings alike).
const fs = require('node:fs');
const path = require('node:path');

const LOCK = path.resolve(__dirname, '..', 'package-lock.json');

/** Node's `process.platform` and `process.arch` values: npm matches `os` and `cpu` against them. */
const PLATFORMS = [
  'aix',
  'android',
  'darwin',
  'freebsd',
  'linux',
  'openbsd',
  'openharmony',
  'sunos',
  'win32',
];
const ARCHS = [
  'arm',
  'arm64',
  'ia32',
  'loong64',
  'mips',
  'mipsel',
  'ppc64',
  'riscv64',
  's390x',
  'x64',
];

/**
 * os/cpu/libc of a platform binding from its name, e.g. `@unrs/resolver-binding-linux-arm64-musl`
 * -> linux, arm64, musl; undefined when the name does not follow the pattern.
 */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  for (let i = parts.length - 1; i >= 1; i--) {
    if (!PLATFORMS.includes(parts[i - 1]) || !ARCHS.includes(parts[i])) continue;
    const abi = parts.slice(i + 1);
    if (abi.length > 1) return undefined;
    const target = { os: parts[i - 1], cpu: parts[i] };
    if (abi.length === 0) return target;
    // napi-rs writes `libc` for the plain gnu and musl targets only, not for gnueabihf/musleabihf.
    if (['gnu', 'glibc'].includes(abi[0])) return { ...target, libc: 'glibc' };
    if (abi[0] === 'musl') return { ...target, libc: 'musl' };
    if (['gnueabihf', 'musleabihf', 'msvc', 'eabi'].includes(abi[0])) return target;
    return undefined;
  }
  return undefined;
}

/** The lock entry npm would resolve `name` to from the package at `from` (a `packages` key). */
function resolveIn(packages, from, name) {
  let dir = from;
  for (;;) {
    const key = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[key]) return key;
    if (!dir) return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up === -1 ? '' : dir.slice(0, up);
  }
}

/** Optional dependencies that no lock entry satisfies: `{ parent, name, spec }`. */
function missingOptional(lock) {
  const missing = [];
  for (const [parent, pkg] of Object.entries(lock.packages)) {
    for (const [name, spec] of Object.entries(pkg.optionalDependencies ?? {})) {
      if (!resolveIn(lock.packages, parent, name)) missing.push({ parent, name, spec });
    }
  }
  return missing;
}

/** The lock with an entry for every missing platform binding; throws on any other gap. */
function addPlatformBindings(lock) {
  const packages = { ...lock.packages };
  for (const { parent, name, spec } of missingOptional(lock)) {
    const target = platformOf(name);
    if (!target || !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(spec)) {
      throw new Error(
        `${parent || 'the root'} needs ${name}@${spec}, which is not in package-lock.json and is ` +
          'not a platform binding with an exact version: run `npm install` on a machine whose ' +
          'registry has it',
      );
    }
    const key = packages[`node_modules/${name}`] ? `${parent}/node_modules/${name}` : undefined;
    packages[key ?? `node_modules/${name}`] = {
      version: spec,
      cpu: [target.cpu],
      ...(packages[parent].dev ? { dev: true } : {}),
      ...(target.libc ? { libc: [target.libc] } : {}),
      optional: true,
      os: [target.os],
    };
  }
  // npm's own order, so that a later `npm install` leaves the file as it is.
  const sorted = Object.keys(packages).sort((a, b) => a.localeCompare(b, 'en'));
  return { ...lock, packages: Object.fromEntries(sorted.map((k) => [k, packages[k]])) };
}

module.exports = { platformOf, missingOptional, addPlatformBindings };

if (require.main === module) {
  const lock = JSON.parse(fs.readFileSync(LOCK, 'utf8'));
  const missing = missingOptional(lock);
  if (process.argv.includes('--check')) {
    if (missing.length > 0) {
      console.error(
        `package-lock.json lacks ${missing.map((m) => m.name).join(', ')}: ` +
          'run `node scripts/lock-platform-bindings.js`',
      );
      process.exit(1);
    }
  } else if (missing.length > 0) {
    fs.writeFileSync(LOCK, `${JSON.stringify(addPlatformBindings(lock), null, 2)}\n`);
    console.log(`package-lock.json: added ${missing.length} platform bindings`);
  }
}
