import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

export interface Snippet {
  /** The markdown file it is in, relative to the repository root. */
  doc: string;
  lang: string;
  code: string;
  /** 1-based line of the opening fence in its markdown file. */
  line: number;
  /** For js: the file name its first line gives (`// try.mjs`), which says how node loads it. */
  file?: string;
}

/** The README and every markdown file under docs/, relative to the repository root. */
export function markdownFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.posix.join('docs', f.split(path.sep).join('/')))
    .sort();
  return ['README.md', ...docs];
}

/** Every fenced code block of a markdown file (fences at the start of a line). */
export function snippets(file = 'README.md'): Snippet[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    doc: file,
    lang: m[1],
    code: m[2],
    line: text.slice(0, m.index).split('\n').length,
    file: /^\/\/ ([\w.-]+\.[cm]?js)\b/.exec(m[2])?.[1],
  }));
}

/**
 * `node --check` of a js snippet, loaded as its file name says: a `.js` file is CommonJS here
 * (package.json has no "type"), so it is checked as `.cjs`, where a top-level `await` is the
 * syntax error it would be (Node's module detection would hide that in a `.js`). Returns the
 * error output, or '' when it parses.
 */
export function checkJs(code: string, file: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-snippet-'));
  const target = path.join(dir, file.replace(/\.js$/, '.cjs'));
  try {
    writeFileSync(target, code);
    const r = spawnSync(process.execPath, ['--check', target], { encoding: 'utf8' });
    return r.status === 0 ? '' : r.stderr || `node --check exited ${r.status}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
