import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  exited,
  killGroup,
  requireServices,
  startCluster,
  type TestCluster,
} from '@roomcast/testing';
import { ROOT, snippets } from '../repo/readme-snippets';

/** Runs `node file` in its own process group; SIGKILL after `timeoutMs`. */
async function runNode(file: string, timeoutMs: number) {
  const child = spawn(process.execPath, [file], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
  await exited(child);
  clearTimeout(timer);
  return { code: child.exitCode, signal: child.signalCode, stdout, stderr };
}

/**
 * The README's client snippet, as written but for the gateway ports, against 2 real gateways of a
 * cluster of this run's own: it must print what Bob heard from Ann and exit by itself.
 */
describe('README client snippet (try.mjs) against a real cluster', () => {
  let cluster: TestCluster;
  // Inside the repository, where the snippet finds socket.io-client as a reader's copy would.
  mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
  const dir = mkdtempSync(path.join(ROOT, 'test-output', 'readme-'));

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({ label: 'readme', gateways: 2 });
  }, 60000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30000);

  it('prints the message Bob got from Ann across two gateways, then exits', async () => {
    const snippet = snippets().find((s) => s.file === 'try.mjs');
    expect(snippet).toBeDefined();
    const [g1, g2] = cluster.gateways;
    const code = snippet!.code
      .replace("'http://127.0.0.1:3001'", `'${g1.url}'`)
      .replace("'http://127.0.0.1:3002'", `'${g2.url}'`);
    // Both gateway URLs were found: the snippet still talks to the gateways npm start runs.
    expect(code).toContain(g1.url);
    expect(code).toContain(g2.url);
    const file = path.join(dir, 'try.mjs');
    writeFileSync(file, code);

    const run = await runNode(file, 20000);
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({
      code: 0,
      signal: null,
      stderr: '',
    });
    expect(run.stdout).toBe(`Ann@${cluster.gatewayId(0)}: hello across instances\n`);
  }, 30000);
});
