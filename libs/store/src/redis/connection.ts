import {
  redactUrl,
  redisUrls,
  START_HINTS,
  StartupError,
  UnreachableError,
} from '@roomcast/config';
import type { RedisModuleOptions } from '@nestjs-modules/ioredis';
import type { Socket } from 'node:net';
import { coalesceWrites } from '@roomcast/batching';
import Redis, { Cluster, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A client of either deployment: one Redis, or a Redis Cluster (REDIS_CLUSTER=true). */
export type RedisClient = Redis | Cluster;

/** Where Redis is: REDIS_URL (one URL, or a cluster's seed nodes separated by commas) and REDIS_CLUSTER. */
export interface RedisTarget {
  url: string;
  /** @default false */
  cluster?: boolean;
}

/**
 * Client options that keep callers from hanging while Redis is away: a command fails after a
 * bounded wait (and the gateway answers UNAVAILABLE) instead of queueing forever.
 */
export const REDIS_CLIENT_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 1,
  commandTimeout: 3000,
  connectTimeout: 3000,
  retryStrategy: (times) => Math.min(times * 200, 2000),
};

/**
 * The same promise for a Redis Cluster: a command fails within about 3 s while its master is
 * down or hung, instead of waiting for the failover.
 * - A hung node (DEBUG SLEEP, a stalled host): `commandTimeout` of REDIS_CLIENT_OPTIONS, per node.
 * - A dead master: each try gets "Connection is closed" (node connections never reconnect by
 *   themselves; the client refreshes the slots and tries again after `retryDelayOnFailover`), and
 *   a cluster that has marked the master failed answers CLUSTERDOWN (`retryDelayOnClusterDown`).
 *   Every try spends one of `maxRedirections`: 10 tries 150 ms apart give up after about 1.5 s
 *   plus the refused connects, while a failover (`cluster-node-timeout` plus the election) that
 *   ends sooner is ridden out.
 * - No node reachable at all: the client stops being ready, and without the offline queue a
 *   command fails at once instead of waiting for a reconnect that may never come.
 */
export const REDIS_CLUSTER_OPTIONS: ClusterOptions = {
  scaleReads: 'master',
  enableReadyCheck: true,
  enableOfflineQueue: false,
  maxRedirections: 10,
  retryDelayOnFailover: 150,
  retryDelayOnClusterDown: 150,
  retryDelayOnTryAgain: 150,
  slotsRefreshTimeout: 2000,
  // No enableAutoPipelining: ioredis would group a custom script command (ScriptRunner) by its
  // first argument, the key count, instead of its first key, and refuse the batch.
  // Reconnects to the seeds while no node answers, as REDIS_CLIENT_OPTIONS does to one Redis.
  clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
};

/** How long the services wait for their Redis client to be ready at start-up. */
const READY_TIMEOUT_MS = 10000;

function target(t: RedisTarget | string): Required<RedisTarget> {
  return typeof t === 'string' ? { url: t, cluster: false } : { cluster: false, ...t };
}

/**
 * The seed nodes of a cluster URL list, and the node options every node needs: the nodes the
 * client discovers (CLUSTER SLOTS) get only a host and a port, so the credentials and TLS of the
 * seeds' URLs go to `redisOptions`.
 */
function clusterSeeds(url: string): { nodes: ClusterNode[]; nodeOptions: RedisOptions } {
  const urls = redisUrls(url).map((u) => new URL(u));
  const first = urls[0];
  const nodeOptions: RedisOptions = {};
  if (first.username) nodeOptions.username = decodeURIComponent(first.username);
  if (first.password) nodeOptions.password = decodeURIComponent(first.password);
  if (first.protocol === 'rediss:') nodeOptions.tls = {};
  const nodes = urls.map((u) => ({
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(u.port || 6379),
  }));
  return { nodes, nodeOptions };
}

/**
 * The one description of roomcast's Redis connection for a config, in the shape of
 * @nestjs-modules/ioredis (which creates the services' client from it); `createRedisClient` makes
 * the same client outside Nest.
 */
export function redisConnectionOptions(t: RedisTarget | string): RedisModuleOptions {
  const { url, cluster } = target(t);
  if (!cluster) return { type: 'single', url, options: REDIS_CLIENT_OPTIONS };
  const { nodes, nodeOptions } = clusterSeeds(url);
  // Not retryStrategy: reconnecting is the cluster's (clusterRetryStrategy); a lost node is
  // found again through the slots, not by reconnecting to it.
  const { maxRetriesPerRequest, commandTimeout, connectTimeout } = REDIS_CLIENT_OPTIONS;
  const redisOptions = { maxRetriesPerRequest, commandTimeout, connectTimeout };
  return {
    type: 'cluster',
    nodes,
    options: { ...REDIS_CLUSTER_OPTIONS, redisOptions: { ...redisOptions, ...nodeOptions } },
  };
}

/**
 * A client for a config: `Redis` for one Redis, `Cluster` for a Redis Cluster. A cluster client
 * has no offline queue (REDIS_CLUSTER_OPTIONS): await `redisReady` before its first command.
 */
export function createRedisClient(t: RedisTarget | string): RedisClient {
  const options = redisConnectionOptions(t);
  return options.type === 'cluster'
    ? new Cluster(options.nodes, options.options)
    : new Redis(options.url!, options.options ?? {});
}

/**
 * Sends the commands a client writes in one pass of the job queues with one system call
 * (`coalesceWrites`) instead of one each: on each connection it opens (a reconnect opens a new
 * one; a cluster client has one per node). ioredis's auto-pipelining does the same with a
 * pipeline object per pass, which cost more CPU than it saved here (docs/benchmarks/README.md).
 */
export function coalesceRedisWrites(client: RedisClient): void {
  if (client instanceof Cluster) {
    for (const node of client.nodes()) coalesceRedisWrites(node);
    client.on('+node', (node: Redis) => coalesceRedisWrites(node));
    return;
  }
  const patch = () => {
    if (client.stream) coalesceWrites(client.stream as Socket);
  };
  patch();
  client.on('connect', patch);
}

/** Resolves once `client` is ready; fails with one line after `timeoutMs`. */
export async function redisReady(client: RedisClient, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', ready);
      reject(
        new StartupError(
          `the Redis${client instanceof Cluster ? ' Cluster' : ''} client was not ready within ${timeoutMs} ms (status ${client.status})`,
        ),
      );
    }, timeoutMs);
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', ready);
  });
}

/** `INFO cluster` says whether a node runs in cluster mode (`cluster_enabled:1`). */
async function clusterEnabled(node: Redis): Promise<boolean> {
  const info = await node.info('cluster');
  return /^cluster_enabled:1\s*$/m.test(info);
}

/**
 * Fails start-up with one line when Redis does not answer, or runs in the other mode than
 * REDIS_CLUSTER says: a cluster node configured as one Redis would answer MOVED to most keys, and
 * a standalone Redis configured as a cluster refuses CLUSTER commands.
 */
export async function probeRedis(t: RedisTarget | string, timeoutMs = 3000): Promise<void> {
  const { url, cluster } = target(t);
  const urls = redisUrls(url);
  let node: Redis | undefined;
  let nodeUrl = urls[0];
  let lastError: unknown;
  // The first seed that answers speaks for the deployment.
  for (const u of urls) {
    const client = new Redis(u, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      node = client;
      nodeUrl = u;
      break;
    } catch (err) {
      lastError = err;
      client.disconnect();
    }
  }
  if (!node) throw new UnreachableError('Redis', url, START_HINTS.redis, lastError);
  try {
    const enabled = await clusterEnabled(node).catch((err: unknown) => {
      throw new UnreachableError('Redis', nodeUrl, START_HINTS.redis, err);
    });
    if (!cluster && enabled) {
      throw new StartupError(
        `REDIS_URL ${redactUrl(url)} is a Redis Cluster node: set REDIS_CLUSTER=true (and list its nodes in REDIS_URL)`,
      );
    }
    if (!cluster) return;
    const state = enabled ? await node.cluster('INFO').catch(() => undefined) : undefined;
    if (state === undefined) {
      throw new StartupError(
        `REDIS_CLUSTER=true but ${redactUrl(nodeUrl)} is not a Redis Cluster node: unset REDIS_CLUSTER (or point REDIS_URL at the cluster)`,
      );
    }
    if (!/^cluster_state:ok\s*$/m.test(String(state))) {
      const line = /^cluster_state:(\S+)/m.exec(String(state))?.[1] ?? 'unknown';
      throw new StartupError(
        `the Redis Cluster at ${redactUrl(nodeUrl)} reports cluster_state:${line}: it cannot serve every slot`,
      );
    }
  } finally {
    node.disconnect();
  }
  await probeClusterClient(url, timeoutMs);
}

/**
 * The services' own cluster client must become ready too: it connects to the addresses the
 * nodes announce, which a client outside the cluster's network (a container's, a NAT'd one)
 * may not reach although it reaches the seeds.
 */
async function probeClusterClient(url: string, timeoutMs: number): Promise<void> {
  const options = redisConnectionOptions({ url, cluster: true });
  if (options.type !== 'cluster') return;
  const client = new Cluster(options.nodes, {
    ...options.options,
    lazyConnect: true,
    clusterRetryStrategy: () => null,
    redisOptions: { ...options.options?.redisOptions, connectTimeout: timeoutMs },
  });
  client.on('error', () => undefined);
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  } catch (err) {
    throw new UnreachableError(
      'Redis Cluster',
      url,
      'every node must be reachable at the address it announces (cluster-announce-ip)',
      err,
    );
  } finally {
    client.disconnect();
  }
}
