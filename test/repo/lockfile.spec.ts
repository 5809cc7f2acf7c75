import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  addPlatformBindings,
  missingOptional,
  platformOf,
  type Lock,
} from '../../scripts/lock-platform-bindings';

const ROOT = path.resolve(__dirname, '../..');
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('package-lock.json (what `npm ci` installs)', () => {
  it('has an entry for every optional dependency, so `npm ci` accepts it on every platform', () => {
    // On failure: node scripts/lock-platform-bindings.js
    expect(missingOptional(lock).map((m) => `${m.name}@${m.spec} (for ${m.parent})`)).toEqual([]);
  });

  it('matches package.json (dependencies and engines)', () => {
    const root = lock.packages[''];
    expect(root.dependencies).toEqual(pkg.dependencies);
    expect(root.devDependencies).toEqual(pkg.devDependencies);
    expect(root.engines).toEqual(pkg.engines);
  });

  it('names a platform binding after the os, cpu and libc npm wrote for it', () => {
    // Every binding entry npm wrote itself (with an integrity hash) checks the naming rule the
    // script uses for the ones it adds.
    const written = Object.entries(lock.packages).filter(
      ([key, e]) => e.integrity && e.os && platformOf(key),
    );
    expect(written.length).toBeGreaterThanOrEqual(10);
    for (const [key, e] of written) {
      const { os, cpu, libc } = platformOf(key)!;
      expect({ key, os: [os], cpu: [cpu], libc: libc && [libc] }).toEqual({
        key,
        os: e.os,
        cpu: e.cpu,
        libc: e.libc,
      });
    }
  });

  it.each([
    ['@unrs/resolver-binding-android-arm-eabi', { os: 'android', cpu: 'arm' }],
    ['@unrs/resolver-binding-linux-arm-gnueabihf', { os: 'linux', cpu: 'arm' }],
    ['@unrs/resolver-binding-linux-arm64-gnu', { os: 'linux', cpu: 'arm64', libc: 'glibc' }],
    ['@unrs/resolver-binding-linux-riscv64-musl', { os: 'linux', cpu: 'riscv64', libc: 'musl' }],
    ['@unrs/resolver-binding-win32-ia32-msvc', { os: 'win32', cpu: 'ia32' }],
    ['@unrs/resolver-binding-openharmony-arm64', { os: 'openharmony', cpu: 'arm64' }],
    ['@parcel/watcher-linux-x64-glibc', { os: 'linux', cpu: 'x64', libc: 'glibc' }],
    ['@unrs/resolver-binding-wasm32-wasi', undefined],
    ['unrs-resolver', undefined],
    ['left-pad', undefined],
  ])('reads %s as %j', (name, target) => {
    expect(platformOf(name)).toEqual(target);
  });

  it('adds back exactly the entries the committed lock has, and nothing else', () => {
    const bindings = Object.keys(lock.packages).filter((k) =>
      k.startsWith('node_modules/@unrs/resolver-binding-'),
    );
    expect(bindings).toHaveLength(
      Object.keys(lock.packages['node_modules/unrs-resolver'].optionalDependencies ?? {}).length,
    );
    // As npm writes the lock here: only the bindings the registry mirror serves.
    const stripped: Lock = {
      ...lock,
      packages: Object.fromEntries(
        Object.entries(lock.packages).filter(([k, e]) => !bindings.includes(k) || e.integrity),
      ),
    };
    expect(missingOptional(stripped).length).toBeGreaterThan(0);
    const fixed = addPlatformBindings(stripped);
    expect(JSON.stringify(fixed)).toBe(JSON.stringify(lock));
    const { version } = lock.packages['node_modules/unrs-resolver'];
    for (const k of bindings) {
      expect(lock.packages[k]).toMatchObject({ version, optional: true, dev: true });
    }
  });

  it('refuses to invent an entry for anything but a platform binding', () => {
    const broken: Lock = {
      lockfileVersion: 3,
      packages: {
        '': { optionalDependencies: { 'some-tool': '1.0.0' } },
      },
    };
    expect(() => addPlatformBindings(broken)).toThrow(/some-tool@1\.0\.0/);
  });
});
