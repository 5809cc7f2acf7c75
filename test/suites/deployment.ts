import {
  connectClient,
  requireServices,
  startCluster,
  type ClusterOptions,
  type RabbitCluster,
  type RedisCluster,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

/**
 * Where a shared suite runs roomcast: the suites in this folder are written once and run on each
 * deployment (standalone Redis by `npm test`, a Redis Cluster by `npm run test:cluster`).
 */
export interface Deployment {
  /** Ends the suite's title: "on standalone Redis". */
  name: string;
  /** The machine's services the deployment needs (checked before starting anything). */
  requires: ('redis' | 'rabbitmq')[];
  /** startCluster options, read when the suite starts its cluster (after outer beforeAll hooks). */
  options(): Partial<ClusterOptions>;
}

export const STANDALONE: Deployment = {
  name: 'standalone Redis',
  requires: ['redis', 'rabbitmq'],
  options: () => ({}),
};

/** Every service on a Redis Cluster the spec started (and stops) itself. */
export function onRedisCluster(name: string, redisCluster: () => RedisCluster): Deployment {
  return { name, requires: ['rabbitmq'], options: () => ({ redisCluster: redisCluster() }) };
}

/** Every service on a RabbitMQ cluster and a Redis Cluster the spec started (and stops) itself. */
export function onClusters(
  name: string,
  rabbitCluster: () => RabbitCluster,
  redisCluster: () => RedisCluster,
): Deployment {
  return {
    name,
    requires: [],
    options: () => ({ rabbitCluster: rabbitCluster(), redisCluster: redisCluster() }),
  };
}

/**
 * A suite's cluster on `deployment`, in the enclosing describe block: started before its tests
 * (`started` gets it) and stopped after them; the clients `client()` opens are closed after each
 * test (a test that closes one itself takes it out of `clients`).
 */
export function suiteCluster(
  deployment: Deployment,
  options: ClusterOptions,
  started: (cluster: TestCluster) => void,
): { clients: TestClient[]; client(gateway: number, name: string): Promise<TestClient> } {
  let cluster: TestCluster | undefined;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    await requireServices(...deployment.requires);
    cluster = await startCluster({ ...options, ...deployment.options() });
    started(cluster);
  }, 60000);
  afterEach(() => cluster?.closeClients(clients));
  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  }, 30000);
  return {
    clients,
    async client(gateway, name) {
      const c = await connectClient(cluster!.gateways[gateway].url, name);
      clients.push(c);
      return c;
    },
  };
}
