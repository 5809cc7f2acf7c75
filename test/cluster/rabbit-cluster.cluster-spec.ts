import { execFileSync } from 'node:child_process';
import { startRabbitCluster, waitFor, type RabbitCluster } from '@roomcast/testing';
import amqp from 'amqplib';

/** The node names epmd knows right now (every running Erlang node on this machine). */
function epmdNames(): string[] {
  try {
    return execFileSync('epmd', ['-names'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /^name (\S+) at port/.exec(l)?.[1])
      .filter((x): x is string => !!x);
  } catch {
    return [];
  }
}

describe('a RabbitMQ cluster of the harness', () => {
  let cluster: RabbitCluster | undefined;
  const prefix = `rc-harness-${process.pid}`;

  beforeAll(async () => {
    cluster = await startRabbitCluster({ nodes: 3, prefix });
    process.stdout.write(`RabbitMQ cluster of 3 nodes started in ${cluster.startMs} ms\n`);
  }, 120000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs 3 clustered nodes on ports of their own, never the machine broker', async () => {
    const c = cluster!;
    expect(c.nodes).toHaveLength(3);
    expect(new Set(c.nodes.map((n) => n.port)).size).toBe(3);
    expect(c.nodes.map((n) => n.port)).not.toContain(5672);
    const status = JSON.parse(await c.ctl(c.nodes[2], 'cluster_status', '--formatter', 'json')) as {
      running_nodes: string[];
    };
    expect([...status.running_nodes].sort()).toEqual(c.nodes.map((n) => n.name).sort());
    expect(c.urlFrom(1).split(',')).toEqual([c.nodes[1].url, c.nodes[2].url, c.nodes[0].url]);
  });

  it('replicates a quorum queue over the nodes and finds its leader and its clients', async () => {
    const c = cluster!;
    const conn = await amqp.connect(c.nodes[1].url, {
      clientProperties: { connection_name: 'harness-probe' },
    });
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue('harness.q', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      // Quorum queues put their leader on the declaring client's node by default.
      expect((await c.leaderOf('harness.q')).name).toBe(c.nodes[1].name);
      expect(await c.connectionNames(c.nodes[1])).toContain('harness-probe');
      expect((await c.nodeOfConnection('harness-probe'))?.name).toBe(c.nodes[1].name);
      await ch.close();
    } finally {
      await conn.close();
    }
  });

  it('kills a node and restarts it into the cluster', async () => {
    const c = cluster!;
    const node = c.nodes[2];
    await c.kill(node);
    await waitFor(
      async () => !epmdNames().includes(node.name.split('@')[0]),
      5000,
      'epmd forgets the node',
    );
    await c.restart(node);
    const conn = await amqp.connect(node.url);
    await conn.close();
    // Back in the cluster, as another node sees it: all three running again.
    const status = JSON.parse(await c.ctl(c.nodes[0], 'cluster_status', '--formatter', 'json')) as {
      running_nodes: string[];
    };
    expect([...status.running_nodes].sort()).toEqual(c.nodes.map((n) => n.name).sort());
  }, 120000);

  it('leaves no node running after stop()', async () => {
    const c = cluster!;
    await c.stop();
    cluster = undefined;
    const mine = epmdNames().filter((n) => n.startsWith(prefix));
    expect(mine).toEqual([]);
  }, 60000);
});
