import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  exited,
  killGroup,
  requireServices,
  startCluster,
  startNginx,
  stopNginx,
  stopService,
  waitFor,
  type RunningNginx,
  type TestCluster,
} from '@roomcast/testing';
import { ROOT, snippets } from '../repo/readme-snippets';
import { signToken, TEST_JWT_SECRET as SECRET } from '../suites/tokens';
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * What a new user of the SDK runs, in a folder of their own with the package `npm pack` makes:
 * Bob through nginx, Ann straight to the other gateway; 5 s tokens from the app's token endpoint; 12 s of chat
 * (two refreshes each), then Bob's gateway is killed -9 while Ann goes on. It prints what it saw.
 */
const APP = `
import { createClient } from '@roomcast/client';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const token = (sub) => fetch(process.env.TOKENS + '?sub=' + sub).then((r) => r.text());
const say = (o) => console.log(JSON.stringify(o));
const bob = createClient({ url: process.env.LB, auth: { getToken: () => token('bob') } });
const bobOn = (await new Promise((r) => bob.on('session', r))).serverId;
// Ann straight to the other gateway: the two chat across gateways.
const gateways = JSON.parse(process.env.GATEWAYS);
const annUrl = Object.entries(gateways).find(([id]) => id !== bobOn)[1];
const ann = createClient({ url: annUrl, auth: { getToken: () => token('ann') } });
const bobRoom = bob.room('general');
const annRoom = ann.room('general');
const leaves = [];
annRoom.on('presence', (p) => p.event === 'leave' && leaves.push(p.user.id));
const got = [];
bobRoom.on('message', (m) => got.push(m.text));
say({ bobOn });
bob.on('session', (s) => say({ bobOn: s.serverId }));
while (bobRoom.status !== 'joined' || annRoom.status !== 'joined') await sleep(50);
for (let i = 0; i < 24; i++) { await annRoom.send('m' + i); await sleep(500); }
say({ refreshLeaves: leaves.length });
say({ killNow: true });
for (let i = 24; i < 40; i++) { await annRoom.send('m' + i); await sleep(250); }
for (let t = 0; t < 200 && got.length < 40; t++) await sleep(100);
say({ got });
ann.close();
bob.close();
`;

describe('@roomcast/client as a new user installs it (npm pack, npm install, run)', () => {
  let cluster: TestCluster;
  let nginx: RunningNginx;
  let tokens: Server;
  let tokensUrl: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-sdk-user-'));

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    // The package as it would be published, installed where nothing else of roomcast is.
    npm(['pack', '--pack-destination', dir, '--silent'], path.join(ROOT, 'libs/client'));
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack left no tarball in ${dir}`);
    writeFileSync(path.join(dir, 'package.json'), '{ "private": true, "type": "module" }\n');
    npm(
      [
        'install',
        `./${tarball}`,
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
      ],
      dir,
    );
    // The app's token endpoint: a 5 s token for whoever asks.
    tokens = createServer((req, res) => {
      const sub = new URL(req.url ?? '/', 'http://x').searchParams.get('sub') ?? 'nobody';
      void signToken(sub, 5).then((t) => res.end(t));
    });
    await new Promise<void>((r) => tokens.listen(0, '127.0.0.1', () => r()));
    tokensUrl = `http://127.0.0.1:${(tokens.address() as { port: number }).port}/token`;
    cluster = await startCluster({
      label: 'sdkuser',
      gateways: 2,
      gatewayEnv: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET },
    });
    nginx = await startNginx({
      gateways: cluster.gateways.map((g) => `127.0.0.1:${g.port}`),
      api: `127.0.0.1:${cluster.api.port}`,
    });
  }, 180000);

  afterAll(async () => {
    if (nginx) await stopNginx(nginx);
    await cluster?.stop();
    tokens?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60000);

  it('runs the README example from the installed package', async () => {
    const snippet = snippets().find((s) => s.file === 'try.mjs');
    // Open mode in the README; this cluster is in JWT mode: the example's own cluster is below.
    expect(snippet?.code).toContain("from '@roomcast/client'");
    const open = await startCluster({ label: 'sdkreadme', gateways: 2 });
    try {
      const code = snippet!.code
        .replace("'http://127.0.0.1:3001'", `'${open.gateways[0].url}'`)
        .replace("'http://127.0.0.1:3002'", `'${open.gateways[1].url}'`);
      writeFileSync(path.join(dir, 'try.mjs'), code);
      const out = execFileSync(process.execPath, ['try.mjs'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 20000,
      });
      expect(out.trim()).toBe(`Ann@${open.gatewayId(0)}: hello across instances`);
    } finally {
      await open.stop();
    }
  }, 60000);

  it('chats across two gateways, refreshes 5 s tokens with no leave seen, loses and repeats nothing through a kill -9', async () => {
    writeFileSync(path.join(dir, 'app.mjs'), APP);
    const child = spawn(process.execPath, ['app.mjs'], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        GATEWAYS: JSON.stringify(
          Object.fromEntries(cluster.gateways.map((g, n) => [cluster.gatewayId(n), g.url])),
        ),
        LB: nginx.url,
        TOKENS: tokensUrl,
      },
    });
    const said: Record<string, unknown>[] = [];
    let stderr = '';
    let buffered = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines)
        if (line.trim()) said.push(JSON.parse(line) as Record<string, unknown>);
    });
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 90000);
    try {
      await waitFor(() => said.some((s) => s.killNow), 60000, `the app's chat phase (${stderr})`);
      // Bob's gateway dies as the next messages go out.
      const bobOn = said.filter((s) => s.bobOn).at(-1)?.bobOn;
      const i = cluster.gateways.findIndex((_, n) => cluster.gatewayId(n) === bobOn);
      expect(i).toBeGreaterThanOrEqual(0);
      stopService(cluster.gateways[i], 'SIGKILL');
      await exited(child);
    } finally {
      clearTimeout(timer);
    }
    expect({ code: child.exitCode, stderr }).toEqual({ code: 0, stderr: '' });
    // Two refreshes each in the first 12 s, and nobody saw Bob (or Ann) leave.
    expect(said.find((s) => 'refreshLeaves' in s)).toEqual({ refreshLeaves: 0 });
    // Every message once, in order, across the kill.
    const got = said.find((s) => 'got' in s)?.got;
    expect(got).toEqual(Array.from({ length: 40 }, (_, n) => `m${n}`));
    // Bob came back on the other gateway.
    expect(new Set(said.filter((s) => s.bobOn).map((s) => s.bobOn)).size).toBe(2);
  }, 120000);
});
