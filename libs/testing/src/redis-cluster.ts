import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { exited, freePort, killGroup, spawnGroup, type GroupProcess } from './processes';
import { waitFor } from './wait';

export interface RedisClusterNode {
  port: number;
  pid: number;
}

export interface RedisCluster {
  /** Every node's URL, comma-separated: REDIS_URL for REDIS_CLUSTER=true. */
  url: string;
  nodes: RedisClusterNode[];
  /** How long starting it took (processes, `--cluster create`, cluster_state:ok everywhere). */
  startMs: number;
  /** The node that owns `key`'s slot now (after a failover: the promoted replica). */
  masterFor(key: string): Promise<RedisClusterNode>;
  /** Kills one node (SIGKILL: a crash) and waits for its exit. */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** Kills every node and removes its files. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** @default 3 */
  masters?: number;
  /** @default 0 */
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long a silent master has before it is failed over. @default 2000 */
  nodeTimeoutMs?: number;
  /** @default 30000 */
  timeoutMs?: number;
}

interface NodeProcess extends RedisClusterNode, GroupProcess {
  busPort: number;
  admin: Redis;
}

/** Fails with the command to install Redis when a program this harness runs is missing. */
function requireProgram(program: string): void {
  const r = spawnSync(program, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `${program} is not installed (${r.error?.message ?? r.stderr.trim()}): the Redis Cluster tests ` +
        'start their own nodes from it; install it with: apt-get install -y redis-server',
    );
  }
}

function run(program: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(`${program} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`),
        );
      else resolve(stdout);
    });
  });
}

/**
 * A Redis Cluster of the test's own from the machine's redis-server: `masters` masters with
 * `replicasPerMaster` replicas each, on free ports (a free cluster bus port each too, with
 * `--cluster-port`, so ports above 55535 work), every node in a process group of its own, its
 * files in a temporary directory. Nothing is saved to disk. Never touches the machine's Redis.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 0;
  const timeoutMs = options.timeoutMs ?? 30000;
  const nodeTimeout = options.nodeTimeoutMs ?? 2000;
  requireProgram('redis-server');
  requireProgram('redis-cli');
  const started = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-redis-cluster-'));
  const nodes: NodeProcess[] = [];

  const stop = async () => {
    for (const n of nodes) n.admin.disconnect();
    for (const n of nodes) killGroup(n.child, 'SIGKILL');
    await Promise.all(nodes.map((n) => exited(n.child)));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const ports = new Set<number>();
    const take = async () => {
      for (;;) {
        const p = await freePort();
        if (!ports.has(p)) return ports.add(p) && p;
      }
    };
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await take();
      const busPort = await take();
      // prettier-ignore
      const proc = spawnGroup('redis-server', [
        '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', String(nodeTimeout), '--save', '', '--appendonly', 'no',
        '--dir', dir,
        // A replica syncs at once instead of after the default 5 s of waiting for others.
        '--repl-diskless-sync-delay', '0',
      ], { cwd: dir, keepLogs: 50 });
      const admin = new Redis(port, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        connectTimeout: 1000,
        commandTimeout: 2000,
        retryStrategy: () => null,
      });
      admin.on('error', () => undefined);
      nodes.push({ ...proc, port, busPort, pid: proc.child.pid ?? -1, admin });
    }
    const alive = (n: NodeProcess) => n.child.exitCode === null && n.child.signalCode === null;
    const command = async (n: NodeProcess, ...args: string[]) => {
      if (n.admin.status !== 'ready') {
        n.admin.disconnect();
        await n.admin.connect();
      }
      return n.admin.call(args[0], ...args.slice(1));
    };
    for (const n of nodes) {
      await waitFor(
        async () => {
          if (!alive(n)) throw new Error(`exited: ${n.logs.join('')}`);
          return (await command(n, 'PING')) === 'PONG';
        },
        10000,
        `redis-server on :${n.port}`,
      );
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      timeoutMs,
    );
    const deadline = started + timeoutMs;
    for (const n of nodes) {
      await waitFor(
        async () => {
          const info = String(await command(n, 'CLUSTER', 'INFO'));
          const replication = String(await command(n, 'INFO', 'replication'));
          return (
            /^cluster_state:ok\s*$/m.test(info) &&
            new RegExp(`^cluster_known_nodes:${nodes.length}\\s*$`, 'm').test(info) &&
            // A replica that never synced is too stale to be promoted: a failover test would
            // wait for a takeover that cannot happen.
            (/^role:master\s*$/m.test(replication) ||
              /^master_link_status:up\s*$/m.test(replication))
          );
        },
        Math.max(1000, deadline - Date.now()),
        `cluster_state:ok (and replicas in sync) on :${n.port}`,
      );
    }

    const masterFor = async (key: string): Promise<RedisClusterNode> => {
      const n = nodes.find(alive);
      if (!n) throw new Error('no node of the Redis Cluster is running');
      const slot = Number(await command(n, 'CLUSTER', 'KEYSLOT', key));
      const port = await slotOwner(slot, (...args) => command(n, ...args));
      const owner = nodes.find((m) => m.port === port);
      if (!owner) throw new Error(`slot ${slot} is served by :${port}, not a node of this cluster`);
      return { port: owner.port, pid: owner.pid };
    };

    return {
      url: nodes.map((n) => `redis://127.0.0.1:${n.port}`).join(','),
      nodes: nodes.map((n) => ({ port: n.port, pid: n.pid })),
      startMs: Date.now() - started,
      masterFor,
      async kill(port, signal = 'SIGKILL') {
        const n = nodes.find((m) => m.port === port);
        if (!n) throw new Error(`no node of this Redis Cluster on :${port}`);
        n.admin.disconnect();
        killGroup(n.child, signal);
        await exited(n.child);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The port of the master serving `slot`: CLUSTER SHARDS (Redis 7), whose nodes say their role and
 * health, or CLUSTER SLOTS on older servers (its first node of a range is the master).
 */
async function slotOwner(
  slot: number,
  command: (...args: string[]) => Promise<unknown>,
): Promise<number> {
  const shards = (await command('CLUSTER', 'SHARDS').catch(() => undefined)) as
    unknown[][] | undefined;
  if (shards) {
    for (const shard of shards) {
      const fields = pairs(shard);
      const ranges = (fields.slots as number[]).map(Number);
      let owns = false;
      for (let i = 0; i < ranges.length; i += 2) {
        if (slot >= ranges[i] && slot <= ranges[i + 1]) owns = true;
      }
      if (!owns) continue;
      for (const node of fields.nodes as unknown[][]) {
        const n = pairs(node);
        if (n.role === 'master' && n.health === 'online') return Number(n.port);
      }
    }
    throw new Error(`no online master serves slot ${slot}`);
  }
  const slots = (await command('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  if (!range) throw new Error(`no master serves slot ${slot}`);
  return Number(range[2][1]);
}

/** A flat [name, value, name, value...] reply as an object. */
function pairs(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}
