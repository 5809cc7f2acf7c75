import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** The settings each service's env class declares (its upper-case properties). */
const declared = [
  'libs/config/src/common.env.ts',
  'apps/gateway/src/config/gateway.env.ts',
  'apps/presence/src/config/presence.env.ts',
  'apps/api/src/config/api.env.ts',
].flatMap((file) => [...read(file).matchAll(/^ {2}([A-Z][A-Z0-9_]+)[?!]?:/gm)].map((m) => m[1]));

describe('configuration docs', () => {
  it('finds the settings', () => {
    expect(declared).toEqual(
      expect.arrayContaining(['PORT', 'AUTH_MODE', 'WEBHOOK_URL', 'API_TOKEN']),
    );
  });

  it('lists every setting in .env.example', () => {
    const example = new Set(
      [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]),
    );
    expect(declared.filter((k) => !example.has(k))).toEqual([]);
  });

  it('lists every setting in the configuration table (docs/operations.md)', () => {
    const docs = read('docs/operations.md');
    const section = /^## Configuration\n([\s\S]*?)(?=^## )/m.exec(docs)?.[1] ?? '';
    const table = new Set([...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` /gm)].map((m) => m[1]));
    expect(table.size).toBeGreaterThan(0);
    expect(declared.filter((k) => !table.has(k))).toEqual([]);
  });
});
