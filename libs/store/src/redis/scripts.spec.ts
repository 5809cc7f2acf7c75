import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as scripts from './scripts';
import { loadLua } from './scripts';

const shipped = readdirSync(join(__dirname, 'lua')).filter((f) => /^[a-z].*\.lua$/.test(f));

describe('the store\u2019s Lua scripts', () => {
  it('loads every script file, each with its KEYS header and its includes expanded', () => {
    expect(shipped.length).toBeGreaterThan(0);
    const exported = Object.values(scripts).filter(
      (v): v is scripts.LuaScript => typeof v === 'object' && v !== null && 'source' in v,
    );
    expect(exported.map((s) => `${s.name}.lua`).sort()).toEqual([...shipped].sort());
    for (const s of exported) {
      expect(s.source.startsWith('-- KEYS:')).toBe(true);
      expect(s.source).not.toMatch(/^--! include/m);
    }
    expect(scripts.ROOM_JOIN.source).toContain('local function countUser(');
    expect(scripts.GROUP_SET_INSTANCE.source).toContain('local function rank(');
  });

  it('builds no key name in Lua: every key a script touches comes from KEYS', () => {
    for (const s of Object.values(scripts).filter(
      (v): v is scripts.LuaScript => typeof v === 'object' && v !== null && 'source' in v,
    )) {
      const code = s.source.replace(/--.*$/gm, '');
      // No fragment of a key name of keys.ts (the old scripts built `p..'room:'..room..':users'`).
      const literals = code.match(/'[^'\n]*'/g) ?? [];
      const fragments = literals.filter((l) =>
        /room:|inst:|conns|users|members|history|:seq|:gen/.test(l),
      );
      expect([s.name, fragments]).toEqual([s.name, []]);
    }
  });

  it('expands nested includes and refuses a cycle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lua-'));
    writeFileSync(join(dir, 'a.lua'), '-- KEYS: none\n--! include b\nreturn f()\n');
    writeFileSync(join(dir, 'b.lua'), '--! include c\nlocal function f() return g() end\n');
    writeFileSync(join(dir, 'c.lua'), 'local function g() return 1 end\n');
    expect(loadLua('a', dir).source).toBe(
      '-- KEYS: none\nlocal function g() return 1 end\n\nlocal function f() return g() end\n\nreturn f()\n',
    );
    writeFileSync(join(dir, 'c.lua'), '--! include a\n');
    expect(() => loadLua('a', dir)).toThrow('Lua include cycle: a > b > c > a');
  });
});
