import {
  connectClient,
  metricValue,
  requireServices,
  startCluster,
  waitFor,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

const LINGER_MS = 1500;

/**
 * Lingering bindings (UNBIND_LINGER_MS) on the real broker, over 2 gateways: a room stays bound
 * on a gateway for the linger after its last local member left, so a member back within it costs
 * no broker operation; the room's traffic meanwhile reaches the gateway and counts as unused;
 * after the linger the binding goes and the traffic no longer comes.
 */
describe('lingering bindings: UNBIND_LINGER_MS on a real broker (2 gateways)', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  /** A counter's value for one `op` label, from a /metrics page. */
  const byOp = (text: string, op: string) =>
    text
      .split('\n')
      .filter(
        (l) => l.startsWith('roomcast_room_binding_changes_total{') && l.includes(`op="${op}"`),
      )
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

  /** Gateway 1's binding figures, from its /metrics. */
  const g1 = async () => {
    const text = await (await fetch(`${cluster.gateways[0].url}/metrics`)).text();
    return {
      bindings: metricValue(text, 'roomcast_room_bindings'),
      binds: byOp(text, 'bind'),
      unbinds: byOp(text, 'unbind'),
      entries: metricValue(text, 'roomcast_broker_entries_total'),
      unused: metricValue(text, 'roomcast_broker_entries_unused_total'),
    };
  };

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'linger',
      gateways: 2,
      gatewayEnv: { UNBIND_LINGER_MS: String(LINGER_MS) },
    });
  }, 60000);

  afterEach(() => cluster.closeClients(clients));
  afterAll(() => cluster?.stop());

  it('keeps the room bound through the linger, rebinds nothing for a member back in it, then unbinds', async () => {
    const room = 'linger-room';
    const ann = await connectClient(cluster.gateways[0].url, 'Ann');
    const bob = await connectClient(cluster.gateways[1].url, 'Bob');
    clients.push(ann, bob);
    await ann.ok('room:join', { room });
    await bob.ok('room:join', { room });
    expect(await g1()).toMatchObject({ bindings: 1, binds: 1, unbinds: 0 });

    // Ann leaves: the room lingers, still bound, and Bob's message still reaches gateway 1.
    await ann.ok('room:leave', { room });
    const left = Date.now();
    const before = await g1();
    expect(before).toMatchObject({ bindings: 1, unbinds: 0 });
    await bob.ok('message:send', { room, text: 'while Ann is away' });
    await waitFor(async () => (await g1()).unused > before.unused, 1000, 'an unused entry on g1');

    // Back within the linger: no broker operation, and the live stream goes on.
    expect(Date.now() - left).toBeLessThan(LINGER_MS);
    await ann.ok('room:join', { room });
    await bob.ok('message:send', { room, text: 'welcome back' });
    await waitFor(() => ann.messages.some((m) => m.text === 'welcome back'), 1000, 'delivery');
    expect(await g1()).toMatchObject({ bindings: 1, binds: 1, unbinds: 0 });

    // Gone for longer than the linger: unbound, and the room's traffic no longer comes.
    await ann.ok('room:leave', { room });
    await waitFor(async () => (await g1()).bindings === 0, LINGER_MS + 2000, 'the unbind');
    const after = await g1();
    expect(after).toMatchObject({ binds: 1, unbinds: 1 });
    await bob.ok('message:send', { room, text: 'nobody on g1' });
    await new Promise((r) => setTimeout(r, 500));
    expect((await g1()).entries).toBe(after.entries);
  }, 30000);
});
