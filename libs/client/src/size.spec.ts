import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

/** The budget for the SDK itself, minified and gzipped, socket.io-client left out. */
const BUDGET = 12 * 1024;

// Bundled with rolldown (Vite's bundler, in the repository's dev dependencies), in a child
// process: rolldown is an ES module, which jest's CommonJS runtime cannot load.
const BUNDLE = `
import { build } from 'rolldown';
const out = await build({
  input: ${JSON.stringify(path.join(__dirname, 'index.ts'))},
  external: [/^socket\\.io-client/],
  write: false,
  logLevel: 'silent',
  output: { format: 'esm', minify: true },
});
process.stdout.write(JSON.stringify(out.output.filter((c) => c.type === 'chunk').map((c) => c.code)));
`;

describe('the package size', () => {
  it('stays under 12 kB minified and gzipped, without socket.io-client', () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', BUNDLE], {
      cwd: __dirname,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    const chunks = JSON.parse(run.stdout) as string[];
    expect(chunks).toHaveLength(1);
    const [code] = chunks;
    // The bundle is the SDK's: socket.io-client is imported, not inlined.
    expect(code).toMatch(/from\s*"socket\.io-client"/);
    const gzipped = gzipSync(code).length;
    console.log(`@roomcast/client: ${code.length} bytes minified, ${gzipped} bytes gzipped`);
    expect(gzipped).toBeLessThan(BUDGET);
  });
});
