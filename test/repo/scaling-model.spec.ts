import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

// bench/scaling-model.mjs (`npm run bench:model`) and the plans docs/scaling.md shows from it.
// The model and its helper are ES modules: each is run by node in a child process.

const ROOT = path.resolve(__dirname, '../..');
const MODEL = path.join(ROOT, 'bench/scaling-model.mjs');
const HELPER = pathToFileURL(path.join(ROOT, 'bench/lib/scaling/model.mjs')).href;
const DOC = path.join(ROOT, 'docs/scaling.md');
const NO_JOINS = path.join(tmpdir(), 'roomcast-no-such-joins.json');

/** The value of `expr`, evaluated with the helper's exports as `m`. */
function helper(expr: string): unknown {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import * as m from ${JSON.stringify(HELPER)}; process.stdout.write(JSON.stringify(${expr}));`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

function model(args: string[]) {
  return spawnSync(process.execPath, [MODEL, ...args], { cwd: ROOT, encoding: 'utf8' });
}

interface Ceiling {
  what: string;
  load: number;
  limit: number;
  share: number;
  from: string;
}
interface Plan {
  traffic: {
    bindOpsNoLingerPerSec: number;
    bindOpsPerSec: number;
    lingerSaving: number;
    unusedDeliveriesPerSec: number;
    queueDeliveriesPerSec: number;
  };
  gateways: { count: number; changesCores: number };
  clusters: { count: number; bindOpsMax: number; presenceMsgs: number; publishesMax: number };
  presence: { changesPerSec: number; queues: number };
  ceilings: Ceiling[];
}
interface Out {
  joins: { gatewayUsPerChange: number; presencePerCore: number; fallback: string[] };
  budget: { used: { gatewayUsPerChange: number } };
  plans: Plan[];
}

/** A small plan (30k connections, sessions of a minute: churn enough to need clusters). */
const SMALL = ['--scales', '30000:3000', '--session-min', '1', '--joins', NO_JOINS];
function small(extra: string[] = []): Out {
  const r = model([...SMALL, ...extra, '--json']);
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Out;
}
const binding = (p: Plan) => p.ceilings.find((c) => c.what.startsWith('binding changes'))!;

describe('the load model: the linger', () => {
  it('saves the rejoins a linger covers, none without a linger, a share of them when shorter', () => {
    expect(
      helper(
        `[0, 1, 2, 5].map((lingerS) => m.lingerSaving({ rejoinShare: 0.5, rejoinWithinS: 2, lingerS }))`,
      ),
    ).toEqual([0, 0.25, 0.5, 0.5]);
    expect(helper(`m.lingerSaving({ rejoinShare: 0, rejoinWithinS: 2, lingerS: 5 })`)).toBe(0);
  });

  it('keeps a room idle for the time away of a covered rejoin and the whole linger otherwise', () => {
    // No linger: never idle. All leaves final: the whole linger. All rejoins covered: time away.
    expect(
      helper(`[
        m.lingerIdleSeconds({ rejoinShare: 0.5, rejoinWithinS: 2, lingerS: 0, awayS: 2 }),
        m.lingerIdleSeconds({ rejoinShare: 0, rejoinWithinS: 2, lingerS: 5, awayS: 2 }),
        m.lingerIdleSeconds({ rejoinShare: 1, rejoinWithinS: 2, lingerS: 5, awayS: 2 }),
        m.lingerIdleSeconds({ rejoinShare: 0.5, rejoinWithinS: 2, lingerS: 5, awayS: 2 }),
        m.lingerIdleSeconds({ rejoinShare: 1, rejoinWithinS: 2, lingerS: 1, awayS: 0.5 }),
      ]`),
    ).toEqual([0, 5, 2, 3.5, 0.75]);
  });

  it('counts a bind and an unbind per single-member pair and session, less the saving', () => {
    expect(
      helper(
        `[0, 0.5, 1].map((saving) => m.bindOpsPerSec({ singles: 900, sessionS: 1800, saving }))`,
      ),
    ).toEqual([1, 0.5, 0]);
  });

  it("the model's plan: no linger makes every operation and no unused delivery", () => {
    const [off] = small(['--linger-s', '0']).plans;
    const [on] = small(['--linger-s', '5', '--rejoin-share', '0.5']).plans;
    expect(off.traffic.lingerSaving).toBe(0);
    expect(off.traffic.bindOpsPerSec).toBe(off.traffic.bindOpsNoLingerPerSec);
    expect(off.traffic.unusedDeliveriesPerSec).toBe(0);
    expect(on.traffic.bindOpsPerSec).toBeCloseTo(on.traffic.bindOpsNoLingerPerSec / 2, 6);
    expect(on.traffic.unusedDeliveriesPerSec).toBeGreaterThan(0);
    expect(on.traffic.unusedDeliveriesPerSec).toBeLessThan(on.traffic.queueDeliveriesPerSec);
  });
});

describe('the load model: k broker clusters', () => {
  it('splits per-room loads by cluster and keeps their totals', () => {
    expect(
      helper(`(() => {
        const loads = { a: [1, 2, 3, 4, 5], b: [10, 0, 10, 0, 10] };
        const two = m.splitByCluster(loads, 2, (r) => r % 2);
        const one = m.splitByCluster(loads, 1, () => 0);
        return [Array.from(two.a), Array.from(two.b), Array.from(one.a), Array.from(one.b)];
      })()`),
    ).toEqual([[9, 6], [30, 0], [15], [30]]);
  });

  it('picks the least k whose busiest cluster is within the headroom of every ceiling', () => {
    // 1,000 ops/s split evenly against 378 at 60% (226.8): 4 clusters give 250, 5 give 200.
    expect(helper(`m.leastClusters((k) => [{ load: 1000 / k, limit: 378 }], 0.6)`)).toBe(5);
    // A second ceiling that needs more clusters decides; an uneven split needs one more.
    expect(
      helper(
        `m.leastClusters((k) => [{ load: 1000 / k, limit: 378 }, { load: 9000 / k, limit: 1000 }], 0.6)`,
      ),
    ).toBe(15);
    expect(
      helper(
        `m.leastClusters((k) => [{ load: (1000 / k) * (k === 5 ? 1.2 : 1), limit: 378 }], 0.6)`,
      ),
    ).toBe(6);
    // A load one cluster must carry whatever k is (a single hot room) never fits.
    expect(helper(`m.leastClusters(() => [{ load: 500, limit: 378 }], 0.6, 50)`)).toBeNull();
  });

  it("the model's plan: one cluster carries all; auto picks the least k within the headroom", () => {
    const [one] = small(['--clusters', '1']).plans;
    expect(one.clusters.count).toBe(1);
    expect(one.clusters.bindOpsMax).toBeCloseTo(one.traffic.bindOpsPerSec, 6);
    expect(one.clusters.presenceMsgs).toBeCloseTo(one.presence.changesPerSec, 6);

    const [auto] = small().plans;
    const k = auto.clusters.count;
    expect(k).toBeGreaterThan(1);
    expect(auto.presence.queues).toBe(k);
    expect(auto.clusters.presenceMsgs).toBeCloseTo(auto.presence.changesPerSec / k, 6);
    for (const c of auto.ceilings.slice(0, 4)) expect(c.share).toBeLessThanOrEqual(0.6);
    expect(binding(auto).load).toBeGreaterThanOrEqual(auto.traffic.bindOpsPerSec / k - 1e-9);
    // One cluster fewer puts the busiest cluster's binding changes over 60% of 378.
    const [fewer] = small(['--clusters', String(k - 1)]).plans;
    expect(binding(fewer).share).toBeGreaterThan(0.6);
    expect(binding(auto).limit).toBe(377.5);
    expect(binding(auto).from).toBe('scaling.json budget.figures.rawBindOpsPerSecCluster3');
  });
});

describe('the load model: gateway CPU per join', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'roomcast-model-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("falls back to the budget's CPU per change without joins.json, and says so", () => {
    const out = small();
    expect(out.joins.fallback).toEqual(['gatewayCpuMsPerJoin', 'presenceCpuMsPerJoin']);
    expect(out.joins.gatewayUsPerChange).toBe(out.budget.used.gatewayUsPerChange);
    const text = model(SMALL).stdout;
    expect(text).toContain(`joins: ${NO_JOINS} absent: gateway CPU per join or leave 1,577 µs`);
  });

  it("uses joins.json's system O when present", () => {
    const file = path.join(dir, 'joins.json');
    const O = {
      joinsPerSec: 2400,
      gatewayCpuMsPerJoin: 0.4,
      presenceCpuMsPerJoin: 0.1,
      ackP50Ms: 3,
      ackP99Ms: 18,
    };
    writeFileSync(file, JSON.stringify({ systems: { O, B: { ...O, gatewayCpuMsPerJoin: 9 } } }));
    const args = [...SMALL.slice(0, -1), file, '--json'];
    const out = JSON.parse(model(args).stdout) as Out;
    expect(out.joins.fallback).toEqual([]);
    expect(out.joins.gatewayUsPerChange).toBe(400);
    expect(out.joins.presencePerCore).toBe(10000);
    const before = small().plans[0];
    expect(out.plans[0].gateways.changesCores).toBeLessThan(before.gateways.changesCores);
    // A system the file lacks falls back, flagged.
    const other = JSON.parse(model([...args, '--joins-system', 'Z']).stdout) as Out;
    expect(other.joins.fallback).toEqual(['gatewayCpuMsPerJoin', 'presenceCpuMsPerJoin']);
  });
});

describe('the load model: bad options', () => {
  it.each([
    [['--clusters', '0'], '--clusters must be an integer in [1, 1000], got "0"'],
    [['--clusters', 'many'], '--clusters must be an integer'],
    [['--rejoin-share', '1.5'], '--rejoin-share must be a number in [0, 1]'],
    [['--linger-s=-1'], '--linger-s must be a number in [0, Infinity], got "-1"'],
    [['--scales', '1000000'], '--scales must be C:D pairs'],
  ])('%j exits 2 naming the option', (args, message) => {
    const r = model([...SMALL, ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('--write-doc refuses a file without the markers and leaves it as it was', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-model-'));
    try {
      const file = path.join(dir, 'x.md');
      writeFileSync(file, '# nothing here\n');
      const r = model([...SMALL, '--write-doc', file]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('has no <!-- bench:model begin -->');
      expect(readFileSync(file, 'utf8')).toBe('# nothing here\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docs/scaling.md', () => {
  /** A markdown text with table padding collapsed (prettier may pad cells differently). */
  const norm = (s: string) =>
    s
      .split('\n')
      .map((l) => (l.startsWith('|') ? l.replace(/ {2,}/g, ' ').replace(/-{3,}/g, '---') : l))
      .join('\n')
      .trim();

  it("shows the model's plans as `npm run bench:model -- --write-doc docs/scaling.md` writes them", () => {
    const r = model(['--markdown']);
    expect(r.stderr).toBe('');
    const doc = readFileSync(DOC, 'utf8');
    const begin = doc.indexOf('<!-- bench:model begin -->');
    const end = doc.indexOf('<!-- bench:model end -->');
    expect(begin).toBeGreaterThan(0);
    const block = doc.slice(begin, end + '<!-- bench:model end -->'.length);
    expect(norm(block)).toBe(norm(r.stdout));
  }, 180_000);

  it("shows a 10M plan with every ceiling within its measured figure (the block's own table)", () => {
    const doc = readFileSync(DOC, 'utf8');
    const lines = doc.slice(doc.indexOf('<!-- bench:model begin -->')).split('\n');
    const head = lines.findIndex((l) => /^\| ceiling /.test(l));
    const cols = lines[head].split('|').map((c) => c.trim());
    const col = cols.findIndex((c) => c.startsWith('10,000,000 conns'));
    expect(col).toBeGreaterThan(0);
    const rows = [];
    for (let i = head + 2; lines[i]?.startsWith('|'); i++) rows.push(lines[i].split('|'));
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const r of rows) {
      const share = /\((\d+)%\)$/.exec(r[col].trim());
      expect([r[1].trim(), share && Number(share[1]) <= 100]).toEqual([r[1].trim(), true]);
    }
  });
});
