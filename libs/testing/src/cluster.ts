import {
  webhookDeadLetterQueue,
  webhookQueues as webhookQueueNames,
  webhookRegistryQueue,
} from '@roomcast/delivery';
import { dropRunState } from './cleanup';
import type { TestClient } from './clients';
import { exited, startService, stopService, type AppName, type RunningService } from './processes';
import type { RabbitCluster } from './rabbit-cluster';
import { startRedisCluster, type RedisCluster, type RedisClusterOptions } from './redis-cluster';
import { AMQP_URL, REDIS_URL, runPrefix } from './services';
import { waitFor } from './wait';

export interface ClusterStats {
  online: number;
  connections: number;
  rooms: number;
  instances: { id: string; connections: number; rooms: number }[];
}

export interface TestCluster {
  prefix: string;
  env: Record<string, string>;
  gateways: RunningService[];
  /** The first presence replica. */
  presence: RunningService;
  /** Every presence replica (`presenceReplicas` of them). */
  presences: RunningService[];
  api: RunningService;
  /** The Redis Cluster the services run on, when `redisCluster` was given (for kill, masterFor). */
  redisCluster?: RedisCluster;
  /** The RabbitMQ cluster the services run on, when `rabbitCluster` was given. */
  rabbitCluster?: RabbitCluster;
  gatewayId(index: number): string;
  getStats(): Promise<ClusterStats>;
  /** Closes the clients (emptying the array) and waits until /stats counts no connection. */
  closeClients(clients: TestClient[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The gateway's send and event budgets lifted out of the way, for suites that test something
 * else at a pace no real client keeps.
 */
export const LIFTED_LIMITS: Readonly<Record<string, string>> = {
  RATE_LIMIT_PER_SEC: '5000',
  RATE_LIMIT_BURST: '5000',
  RATE_LIMIT_EVENTS_PER_SEC: '5000',
  RATE_LIMIT_EVENTS_BURST: '5000',
};

export interface ClusterOptions {
  label: string;
  /** Exchange, queue, Redis and instance names start with it. @default runPrefix(label) */
  prefix?: string;
  gateways?: number;
  /** Presence replicas sharing the presence queue. @default 1 */
  presenceReplicas?: number;
  /**
   * Runs every service on a Redis Cluster (REDIS_CLUSTER=true, REDIS_URL its seed list): one the
   * harness starts with these options and stops in `stop()`, or one the test started (and stops
   * itself; `stop()` removes only this run's keys from it).
   * @default the standalone REDIS_URL
   */
  redisCluster?: RedisClusterOptions | RedisCluster;
  /**
   * Runs every service on a RabbitMQ cluster the test started (and stops itself): AMQP_URL lists
   * its nodes, in an order of each service's own so the connections spread: gateway i starts at
   * node i, presence replica j at node j (modulo the node count). `stop()` removes this run's
   * exchange and queues from it.
   * @default the machine's broker (AMQP_URL)
   */
  rabbitCluster?: RabbitCluster;
  /** Settings for every service (a proxied AMQP_URL, a test Redis...). */
  env?: Record<string, string>;
  /** Settings for one kind of service only. */
  gatewayEnv?: Record<string, string>;
  presenceEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  /** Node options per service, by name: 'presence', 'presence2'..., 'api', 'gateway1'... */
  nodeArgs?: (service: string) => string[];
  /** Keep only the last N chunks of each service's output, for long runs. @default all */
  keepLogs?: number;
  /** Run another checkout's build (the benchmark's "before" system). @default this one's */
  root?: string;
}

/**
 * Presence, the api service and N gateways as real processes, on an exchange, presence queue and Redis
 * prefix of their own; `stop()` kills them and removes what the run created.
 */
export async function startCluster(options: ClusterOptions): Promise<TestCluster> {
  const prefix = options.prefix ?? runPrefix(options.label);
  const given = options.redisCluster;
  const ownRedisCluster =
    given && !isRedisCluster(given) ? await startRedisCluster(given) : undefined;
  const onCluster = given && isRedisCluster(given) ? given : ownRedisCluster;
  const env: Record<string, string> = {
    AMQP_URL,
    REDIS_URL,
    ...(onCluster ? { REDIS_URL: onCluster.url, REDIS_CLUSTER: 'true' } : {}),
    ...(options.rabbitCluster ? { AMQP_URL: options.rabbitCluster.url } : {}),
    EXCHANGE: `${prefix}.events`,
    REDIS_PREFIX: `${prefix}:`,
    PRESENCE_QUEUE: `${prefix}.presence`,
    WEBHOOK_QUEUE: `${prefix}.webhooks`,
    ...options.env,
  };
  const started: RunningService[] = [];
  const cluster = {
    prefix,
    env,
    gateways: [] as RunningService[],
    presences: [] as RunningService[],
    redisCluster: onCluster,
    rabbitCluster: options.rabbitCluster,
    gatewayId: (i: number) => `${prefix}-g${i + 1}`,
  } as TestCluster;
  const statsHeaders: Record<string, string> = options.apiEnv?.STATS_TOKEN
    ? { authorization: `Bearer ${options.apiEnv.STATS_TOKEN}` }
    : {};
  cluster.getStats = async () =>
    (await (
      await fetch(`${cluster.api.url}/stats`, { headers: statsHeaders })
    ).json()) as ClusterStats;
  cluster.closeClients = async (clients) => {
    for (const c of clients.splice(0)) c.close();
    await waitFor(
      async () => (await cluster.getStats()).connections === 0,
      5000,
      'all test connections gone',
    );
  };
  cluster.stop = async () => {
    for (const s of started) stopService(s, 'SIGKILL');
    await Promise.all(started.map((s) => exited(s.child)));
    try {
      await dropRunState({
        // A cluster of the harness's own goes with all its keys: nothing to remove from it.
        redisUrl: ownRedisCluster ? null : env.REDIS_URL,
        redisCluster: env.REDIS_CLUSTER === 'true',
        // The broker itself: env.AMQP_URL may be a proxy the test has cut.
        amqpUrl: options.rabbitCluster?.url ?? AMQP_URL,
        redisPrefix: env.REDIS_PREFIX,
        exchange: env.EXCHANGE,
        queues: [
          env.PRESENCE_QUEUE,
          ...webhookQueues(options.presenceEnv?.WEBHOOK_URL, env.WEBHOOK_QUEUE),
        ],
      });
    } finally {
      await ownRedisCluster?.stop();
    }
  };
  /** On a RabbitMQ cluster: the nodes' URLs starting at node `i`, so services spread. */
  const brokerOrder = (i: number): Record<string, string> =>
    options.rabbitCluster && !options.env?.AMQP_URL
      ? { AMQP_URL: options.rabbitCluster.urlFrom(i) }
      : {};
  const start = (app: AppName, name: string, appEnv: Record<string, string>) =>
    startService(app, appEnv, undefined, {
      nodeArgs: options.nodeArgs?.(name),
      keepLogs: options.keepLogs,
      root: options.root,
    });
  try {
    for (let i = 0; i < (options.presenceReplicas ?? 1); i++) {
      const replica = await start('presence', i === 0 ? 'presence' : `presence${i + 1}`, {
        ...env,
        ...brokerOrder(i),
        ...options.presenceEnv,
        INSTANCE_ID: `${prefix}-p${i + 1}`,
      });
      started.push(replica);
      cluster.presences.push(replica);
    }
    cluster.presence = cluster.presences[0];
    // The api service and the gateways need presence (its queue), not each other: they start
    // together, which takes a cluster's start from one service's boot per service to about one
    // per core (each boot is mostly loading code).
    const gatewayCount = options.gateways ?? 3;
    const starting = [
      start('api', 'api', { ...env, ...options.apiEnv }),
      ...Array.from({ length: gatewayCount }, (_, i) =>
        start('gateway', `gateway${i + 1}`, {
          ...env,
          // Rooms unbound as their last member leaves, as the tests of "no wasted work" expect;
          // the linger (UNBIND_LINGER_MS, 5 s by default) has tests of its own that set it.
          UNBIND_LINGER_MS: '0',
          ...brokerOrder(i),
          ...options.gatewayEnv,
          INSTANCE_ID: cluster.gatewayId(i),
        }),
      ),
    ];
    const results = await Promise.allSettled(starting);
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [api, ...gateways] = results.map(
      (r) => (r as PromiseFulfilledResult<RunningService>).value,
    );
    cluster.api = api;
    cluster.gateways.push(...gateways);
    await waitFor(
      async () => (await cluster.getStats()).instances.length === cluster.gateways.length,
      10000,
      'every gateway in /stats',
    );
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    // What the services said is usually why (a Redis error, a bad setting).
    const said = started
      .filter((s) => s.logs.length)
      .map((s) => `--- ${s.app} :${s.port}\n${s.logs.join('').slice(-1500)}`);
    if (said.length && err instanceof Error) err.message += `\n${said.join('\n')}`;
    throw err;
  }
  return cluster;
}

function isRedisCluster(c: RedisClusterOptions | RedisCluster): c is RedisCluster {
  return 'url' in c && 'masterFor' in c;
}

/** The durable queues of a WEBHOOK_URL list, which a run's cleanup deletes. */
function webhookQueues(urls: string | undefined, base: string): string[] {
  if (!urls) return [];
  return [
    ...urls
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean)
      .flatMap((u) => [webhookQueueNames(base, u).main, webhookQueueNames(base, u).wait]),
    webhookDeadLetterQueue(base),
    webhookRegistryQueue(base),
  ];
}
