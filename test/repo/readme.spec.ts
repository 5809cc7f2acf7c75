import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkJs, markdownFiles, ROOT, snippets } from './readme-snippets';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  engines: { node: string };
};
const blocks = markdownFiles().flatMap((doc) => snippets(doc));
const js = blocks.filter((b) => ['js', 'javascript', 'mjs', 'cjs'].includes(b.lang));
const bash = blocks.filter((b) => ['bash', 'sh', 'shell'].includes(b.lang));
const where = (b: { doc: string; line: number }) => `${b.doc}:${b.line}`;

/** The commands of a bash snippet, without comments, continuation lines joined. */
const commands = (code: string) =>
  code
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);

describe('code snippets of the README and docs/', () => {
  it('has the client snippet and the quick start commands in the README', () => {
    const readme = blocks.filter((b) => b.doc === 'README.md');
    expect(readme.filter((b) => b.lang === 'js').map((b) => b.file)).toContain('try.mjs');
    const shell = readme.filter((b) => b.lang === 'bash').flatMap((b) => commands(b.code));
    expect(shell).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^npm start\b/),
        expect.stringMatching(/^npm test\b/),
      ]),
    );
  });

  it('has the webhook helper and the shell recipes in docs/', () => {
    expect(js.filter((b) => b.doc.startsWith('docs/')).map((b) => b.file)).toContain(
      'verify-webhook.cjs',
    );
    expect(bash.filter((b) => b.doc.startsWith('docs/')).length).toBeGreaterThanOrEqual(2);
  });

  it('names the file of every js snippet, which says how node loads it', () => {
    expect(js.filter((b) => !b.file).map(where)).toEqual([]);
  });

  it('parses every js snippet as the module kind its file name says', () => {
    expect(js.map((b) => ({ at: where(b), error: checkJs(b.code, b.file!) }))).toEqual(
      js.map((b) => ({ at: where(b), error: '' })),
    );
  });

  it('tells a CommonJS snippet with a top-level await from a module (the old client snippet)', () => {
    const old = "const { io } = require('socket.io-client');\nawait Promise.resolve();\n";
    expect(checkJs(old, 'try.js')).toMatch(/await is only valid/);
    expect(checkJs(old.replace(/^const.*\n/, ''), 'try.mjs')).toBe('');
  });

  it('parses every bash snippet, with npm scripts and node files that exist', () => {
    const problems: string[] = [];
    for (const b of bash) {
      const r = spawnSync('bash', ['-n'], { input: b.code, encoding: 'utf8' });
      if (r.status !== 0) problems.push(`${where(b)}: ${r.stderr.trim()}`);
      // Shell functions the snippet defines (`api() { curl ...; }`): their calls are checked by
      // running them (the README's curl lines: test/e2e/readme-moderation.e2e-spec.ts).
      const functions = new Set([...b.code.matchAll(/^(\w+)\(\) \{/gm)].map((m) => m[1]));
      for (const cmd of commands(b.code)) {
        const words = cmd.split(/\s+/).filter((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w));
        if (words[0] === 'export' || functions.has(words[0].replace(/\(\)$/, ''))) continue;
        if (words[0] === 'npm') {
          const script = words[1] === 'run' ? words[2] : words[1];
          if (!pkg.scripts[script]) problems.push(`${where(b)}: no npm script ${script}`);
        } else if (words[0] === 'node') {
          if (!existsSync(path.join(ROOT, words[1]))) problems.push(`${where(b)}: no ${words[1]}`);
        } else if (!['apt-get', 'sudo', 'docker', 'cp', 'curl'].includes(words[0])) {
          problems.push(`${where(b)}: unchecked command ${words[0]}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('states the Node versions package.json accepts (docs/operations.md, Supported runtimes)', () => {
    expect(readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8')).toContain(
      `\`${pkg.engines.node}\``,
    );
  });
});
