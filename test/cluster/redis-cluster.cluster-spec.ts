import { execFileSync } from 'node:child_process';
import { StartupError } from '@roomcast/config';
import { createRedisClient, probeRedis, redisReady, type RedisClient } from '@roomcast/store';
import {
  REDIS_URL,
  requireServices,
  runPrefix,
  startRedisCluster,
  type RedisCluster,
} from '@roomcast/testing';
import { Cluster } from 'ioredis';

/** The pids of the redis-server processes running now. */
function redisServerPids(): Set<number> {
  try {
    return new Set(
      execFileSync('pgrep', ['-x', 'redis-server'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    return new Set(); // pgrep exits 1 when nothing matches
  }
}

describe('a Redis Cluster of the harness, with the roomcast client', () => {
  let cluster: RedisCluster | undefined;
  let client: RedisClient | undefined;
  const prefix = runPrefix('redis-cluster');

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    process.stdout.write(`Redis Cluster of 3 masters started in ${cluster.startMs} ms\n`);
  }, 60000);

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('starts 3 masters on free ports, each its own process', () => {
    expect(cluster!.nodes).toHaveLength(3);
    expect(new Set(cluster!.nodes.map((n) => n.port)).size).toBe(3);
    expect(cluster!.url.split(',')).toHaveLength(3);
    for (const n of cluster!.nodes) expect(() => process.kill(n.pid, 0)).not.toThrow();
  });

  it('writes and reads keys on every master through a client of the roomcast factory', async () => {
    client = createRedisClient({ url: cluster!.url, cluster: true });
    expect(client).toBeInstanceOf(Cluster);
    await redisReady(client);
    // Keys until every master owns at least one, found by the harness, not by the client.
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < 3 && i < 1000; i++) {
      const key = `${prefix}:k${i}`;
      const owner = await cluster!.masterFor(key);
      if (!byMaster.has(owner.port)) byMaster.set(owner.port, key);
    }
    expect([...byMaster.keys()].sort()).toEqual(cluster!.nodes.map((n) => n.port).sort());
    for (const [port, key] of byMaster) await client.set(key, `on ${port}`, 'EX', 60);
    for (const [port, key] of byMaster) expect(await client.get(key)).toBe(`on ${port}`);
    await client.del(...[...byMaster.values()].slice(0, 1));
  });

  it('probeRedis accepts the cluster in cluster mode, from any seed', async () => {
    await expect(probeRedis({ url: cluster!.url, cluster: true })).resolves.toBeUndefined();
    const [, second] = cluster!.url.split(',');
    await expect(
      probeRedis({ url: `redis://127.0.0.1:1,${second}`, cluster: true }),
    ).resolves.toBeUndefined();
  });

  it('probeRedis refuses a cluster node in standalone mode, with one line saying what to set', async () => {
    const [first] = cluster!.url.split(',');
    const err = await probeRedis({ url: first, cluster: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toMatch(/is a Redis Cluster node: set REDIS_CLUSTER=true/);
    expect((err as Error).message).not.toMatch(/\n/);
  });

  it("probeRedis refuses cluster mode against the machine's standalone Redis", async () => {
    await requireServices('redis');
    const err = await probeRedis({ url: REDIS_URL, cluster: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toMatch(/is not a Redis Cluster node: unset REDIS_CLUSTER/);
    expect((err as Error).message).not.toMatch(/\n/);
  });

  it('stop() leaves no redis-server of it behind, nor touches any other', async () => {
    const pids = cluster!.nodes.map((n) => n.pid);
    const before = redisServerPids();
    for (const pid of pids) expect(before.has(pid)).toBe(true);
    client?.disconnect();
    client = undefined;
    await cluster!.stop();
    cluster = undefined;
    const after = redisServerPids();
    for (const pid of pids) expect(after.has(pid)).toBe(false);
    expect([...before].filter((p) => !pids.includes(p) && !after.has(p))).toEqual([]);
  });
});
