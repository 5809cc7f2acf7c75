import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { markdownFiles, ROOT } from './readme-snippets';

/** The lines of a markdown text outside fenced code blocks (fences may be indented). */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a markdown text's headings; a repeated one gets -1, -2, … as on GitHub. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The targets of a markdown text's links and images, inline and reference-style, not in code. */
function links(text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  prose(text).forEach((raw, i) => {
    const line = raw.replace(/(`+)[\s\S]*?\1/g, '');
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      out.push({ line: i + 1, target: m[1] });
    const ref = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (ref) out.push({ line: i + 1, target: ref[1] });
  });
  return out;
}

/**
 * What is wrong with each relative link of `doc` (a path from the repository root): a target
 * outside the repository, a file that does not exist, or an anchor no heading of it has.
 * Links with a scheme (https:, mailto:) are not followed.
 */
function brokenLinks(
  doc: string,
  text: string,
  read: (file: string) => string | undefined,
): string[] {
  const problems: string[] = [];
  for (const { line, target } of links(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const at = `${doc}:${line}: ${target}`;
    const hash = target.indexOf('#');
    const file = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved =
      file === '' ? doc : path.posix.normalize(path.posix.join(path.posix.dirname(doc), file));
    if (resolved.startsWith('../') || resolved === '..' || path.posix.isAbsolute(resolved)) {
      problems.push(`${at}: outside the repository`);
      continue;
    }
    const content = read(resolved);
    if (content === undefined) {
      problems.push(`${at}: no file ${resolved}`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith('.md') && !anchors(content).has(anchor))
      problems.push(`${at}: no heading #${anchor} in ${resolved}`);
  }
  return problems;
}

/** A repository file's text ('' for a binary or a directory with a README), or undefined. */
function readRepo(file: string): string | undefined {
  const full = path.join(ROOT, file);
  if (!existsSync(full)) return undefined;
  if (statSync(full).isDirectory())
    return existsSync(path.join(full, 'README.md')) ? '' : undefined;
  return file.endsWith('.md') ? readFileSync(full, 'utf8') : '';
}

describe('links of the README and docs/', () => {
  const docs = markdownFiles();

  it('finds the docs', () => {
    expect(docs).toEqual(
      expect.arrayContaining(['README.md', 'docs/protocol.md', 'docs/operations.md']),
    );
  });

  it('resolves every relative link to a file of the repository, and every #anchor to a heading', () => {
    const problems = docs.flatMap((doc) => brokenLinks(doc, readRepo(doc)!, readRepo));
    expect(problems).toEqual([]);
  });

  it('names nothing outside the repository (the contract is docs/protocol.md)', () => {
    const outside = docs.flatMap((doc) =>
      readRepo(doc)!
        .split('\n')
        .flatMap((l, i) =>
          /\.\.\/shared\b|shared\/PROTOCOL\.md/.test(l) ? [`${doc}:${i + 1}`] : [],
        ),
    );
    expect(outside).toEqual([]);
  });

  it('keeps the README under 300 lines', () => {
    const lines = readFileSync(path.join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThanOrEqual(300);
  });

  it('tells a broken link, a missing anchor and a link out of the repository', () => {
    const files: Record<string, string> = {
      'docs/a.md':
        '# A\n\n## Stats API (HTTP, JSON)\n\n## History and `complete`\n\n## Twice\n\n## Twice\n',
      'docs/img.png': '',
    };
    const read = (f: string) => files[f];
    const text = [
      '[ok](a.md#stats-api-http-json) [ok](a.md#history-and-complete) [ok](#twice-1)',
      '![ok](img.png) [web](https://example.com/x.md) `[code](nowhere.md)`',
      '[gone](b.md) [no anchor](a.md#stats) [out](../../shared/PROTOCOL.md)',
      '```',
      '[fenced](nowhere.md)',
      '```',
    ].join('\n');
    expect(brokenLinks('docs/a.md', `${files['docs/a.md']}\n${text}`, read)).toEqual([
      'docs/a.md:13: b.md: no file docs/b.md',
      'docs/a.md:13: a.md#stats: no heading #stats in docs/a.md',
      'docs/a.md:13: ../../shared/PROTOCOL.md: outside the repository',
    ]);
  });
});
