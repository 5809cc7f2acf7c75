import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/**
 * The messages ESLint gives each `code` as if it were the file `file` of the repository: one
 * node process running ESLint's API (jest's runtime cannot load the ESM config itself).
 */
function lintAll(files: { file: string; code: string }[]): string[][] {
  const script = `
    import { ESLint } from 'eslint';
    const files = JSON.parse(process.argv[1]);
    const eslint = new ESLint({ cwd: process.cwd() });
    const out = [];
    for (const { file, code } of files) {
      const [result] = await eslint.lintText(code, { filePath: file });
      out.push(result.messages.map((m) => m.ruleId + ': ' + m.message));
    }
    process.stdout.write(JSON.stringify(out));`;
  const stdout = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', script, JSON.stringify(files)],
    { cwd: ROOT, encoding: 'utf8', timeout: 60000 },
  );
  return JSON.parse(stdout) as string[][];
}

const restricted = expect.arrayContaining([expect.stringMatching(/^no-restricted-imports: /)]);

/** The layers eslint.layers.mjs states, each shown refusing a wrong-way import. */
describe('the layer rules (eslint.layers.mjs)', () => {
  const cases: [string, string, string, boolean][] = [
    [
      'the transport outside a broker adapter',
      'apps/gateway/src/membership/x.ts',
      '@roomcast/amqp-transport',
      false,
    ],
    ['amqplib outside a broker adapter', 'apps/api/src/stats/x.ts', 'amqplib', false],
    [
      'the transport in a broker adapter',
      'apps/gateway/src/broker/x.ts',
      '@roomcast/amqp-transport',
      true,
    ],
    [
      'the transport in a module',
      'apps/presence/src/presence.module.ts',
      '@roomcast/amqp-transport',
      true,
    ],
    [
      'testing code in production code',
      'apps/gateway/src/socket/x.ts',
      '../testing/memory-ports',
      false,
    ],
    ['the harness in a lib', 'libs/store/src/x.ts', '@roomcast/testing', false],
    [
      'an app in a lib',
      'libs/delivery/src/x.ts',
      '../../../apps/gateway/src/gateway.module',
      false,
    ],
    ['roomcast code in the transport', 'libs/amqp-transport/src/x.ts', '@roomcast/config', false],
    [
      "a lib's internals in a test",
      'test/e2e/x.e2e-spec.ts',
      '../../libs/store/src/redis/keys',
      false,
    ],
    ["a lib's deep path in a test", 'test/x.spec.ts', '@roomcast/store/redis/keys', false],
    ['a lib by its name in a test', 'test/x.spec.ts', '@roomcast/store', true],
    [
      'a test double in a spec',
      'apps/gateway/src/membership/x.spec.ts',
      '../testing/memory-ports',
      true,
    ],
  ];
  let results: string[][];
  beforeAll(() => {
    results = lintAll(
      cases.map(([, file, from]) => ({
        file,
        code: `import * as m from '${from}';\nexport const x = m;\n`,
      })),
    );
  }, 60000);

  it.each(cases.map((c, i) => [...c, i] as const))(
    '%s: %s importing %s is allowed: %s',
    (_what, _file, _from, allowed, i) => {
      if (allowed) expect(results[i]).toEqual([]);
      else expect(results[i]).toEqual(restricted);
    },
  );
});
