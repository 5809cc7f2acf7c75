import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import {
  connectClient,
  exited,
  freePort,
  killGroup,
  requireServices,
  spawnGroup,
  startCluster,
  stopService,
  waitFor,
  waitServing,
  type AnyAck,
  type GroupProcess,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import {
  alertRules,
  asPromQL,
  queryPanels,
  readDashboard,
  readPrometheusConfig,
  requireBinary,
  RULES_FILE,
  splitAlert,
  type PrometheusConfig,
} from '../suites/monitoring';

const STATS_TOKEN = 'monitoring-e2e-stats-token-0123456789';
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
/** Grafana's $__rate_interval for 1 s scrapes (four scrape intervals, and one to spare). */
const RATE_INTERVAL = '5s';
const ROOM = 'monitoring-lobby';

interface RulesAnswer {
  data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * docs/monitoring.md, tested: Debian's Prometheus runs the shipped configuration, its scrape
 * targets moved to a live cluster's ports (the exporters' jobs left out: no exporter runs here)
 * and its rules file as shipped, scraping every second while clients chat. Every query of the
 * Grafana dashboard and every alerting rule's measure must return series from it, and the rules
 * evaluate without error; a receiver that refuses webhooks shows as backlog, and a gateway
 * killed puts its alert in pending.
 */
describe('monitoring: a real Prometheus on a live cluster, with the shipped configuration', () => {
  let cluster: TestCluster;
  let prometheus: GroupProcess | undefined;
  let promUrl: string;
  let dir: string;
  let receiver: Server;
  let webhookUrl: string;
  let refusing = false;
  const clients: TestClient[] = [];
  let chatting = true;
  let chat: Promise<void> = Promise.resolve();
  let sent = 0;

  async function query(promql: string): Promise<Sample[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: Sample[] | [number, string] };
    };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    // A scalar (no series) counts as none.
    return body.data?.resultType === 'vector' || body.data?.resultType === 'matrix'
      ? (body.data.result as Sample[])
      : [];
  }

  /** The queries of `exprs` that return no series, waited for until `timeoutMs`. */
  async function emptyQueries(exprs: string[], timeoutMs: number): Promise<string[]> {
    let empty = exprs;
    await waitFor(
      async () => {
        const counts = await Promise.all(empty.map(async (e) => (await query(e)).length));
        empty = empty.filter((_, i) => counts[i] === 0);
        return empty.length === 0;
      },
      timeoutMs,
      'every query answered with series',
      500,
    ).catch(() => undefined);
    return empty;
  }

  beforeAll(async () => {
    const bin = requireBinary('prometheus', 'prometheus');
    await requireServices('redis', 'rabbitmq');
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(refusing ? 503 : 200).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    cluster = await startCluster({
      label: 'mon',
      gateways: 2,
      presenceEnv: { WEBHOOK_URL: webhookUrl, WEBHOOK_SECRET, WEBHOOK_PARK_MS: '1000' },
      apiEnv: { STATS_TOKEN },
    });

    dir = mkdtempSync(path.join(tmpdir(), 'roomcast-prometheus-'));
    const tokenFile = path.join(dir, 'stats-token');
    writeFileSync(tokenFile, STATS_TOKEN);
    const shipped = readPrometheusConfig();
    const ports: Record<string, number[]> = {
      'roomcast-gateway': cluster.gateways.map((g) => g.port),
      'roomcast-presence': cluster.presences.map((p) => p.port),
      'roomcast-api': [cluster.api.port],
    };
    const config: PrometheusConfig = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [RULES_FILE],
      scrape_configs: shipped.scrape_configs
        .filter((job) => ports[job.job_name])
        .map((job) => ({
          ...job,
          static_configs: [{ targets: ports[job.job_name].map((p) => `127.0.0.1:${p}`) }],
          ...(job.authorization && {
            authorization: { ...job.authorization, credentials_file: tokenFile },
          }),
        })),
    };
    // Only the exporters' jobs are left out; every roomcast job is kept as shipped.
    expect(shipped.scrape_configs.map((j) => j.job_name).filter((name) => !ports[name])).toEqual([
      'rabbitmq',
      'redis',
    ]);
    expect(config.scrape_configs).toHaveLength(3);
    const configFile = path.join(dir, 'prometheus.yml');
    writeFileSync(configFile, stringify(config));

    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawnGroup(bin, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ]);
    await waitServing(prometheus, `${promUrl}/-/ready`, 15000, 'prometheus /-/ready');

    // Two users on each gateway, all in one room, chatting until the last query is answered.
    for (const [i, gw] of cluster.gateways.entries())
      for (const name of ['ann', 'bob'])
        clients.push(await connectClient(gw.url, `${name}-${i + 1}`));
    for (const c of clients)
      expect((await c.ack<AnyAck>('room:join', { room: ROOM })).ok).toBe(true);
    chat = (async () => {
      // Bounded: at most 600 sends, 10 a second.
      while (chatting && sent < 600) {
        const c = clients[sent % clients.length];
        await c.ack('message:send', { room: ROOM, text: `m${sent}` }).catch(() => undefined);
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
  }, 90_000);

  afterAll(async () => {
    chatting = false;
    await chat;
    for (const c of clients) c.close();
    if (prometheus) {
      killGroup(prometheus.child, 'SIGKILL');
      await exited(prometheus.child);
    }
    await cluster?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('scrapes every roomcast process, the api service with its STATS_TOKEN', async () => {
    // Without the token the api service's /metrics refuses: the shipped job's authorization counts.
    expect((await fetch(`${cluster.api.url}/metrics`)).status).toBe(401);
    await waitFor(
      async () => {
        const res = await fetch(`${promUrl}/api/v1/targets`);
        const { data } = (await res.json()) as {
          data: { activeTargets: { labels: { job: string }; health: string }[] };
        };
        const up = data.activeTargets.filter((t) => t.health === 'up').map((t) => t.labels.job);
        return (
          up.sort().join(' ') === 'roomcast-api roomcast-gateway roomcast-gateway roomcast-presence'
        );
      },
      // Prometheus applies new targets every 5 s.
      15_000,
      'the 4 roomcast targets up',
    );
  }, 20_000);

  it('answers every query of the Grafana dashboard with series while clients chat', async () => {
    const queries = queryPanels(readDashboard()).flatMap((p) =>
      (p.targets ?? []).map((t) => asPromQL(t.expr ?? '', RATE_INTERVAL)),
    );
    expect(queries.length).toBeGreaterThanOrEqual(20);
    expect(await emptyQueries(queries, 25_000)).toEqual([]);

    // What the panels show is the cluster's own state, not just any series.
    const value = async (q: string) => Number((await query(q))[0]?.value[1]);
    expect(await value('sum(roomcast_connections)')).toBe(clients.length);
    expect(await value('max(roomcast_users_online)')).toBe(clients.length);
    expect(
      await value(`sum(rate(roomcast_messages_accepted_total[${RATE_INTERVAL}]))`),
    ).toBeGreaterThan(0);
    const p99 = await value(
      `histogram_quantile(0.99, sum by (le) (rate(roomcast_delivery_latency_seconds_bucket[${RATE_INTERVAL}])))`,
    );
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThan(2.5);
    const bindings = await query('sum by (instance) (roomcast_room_bindings)');
    expect(bindings.map((s) => [s.metric.instance, Number(s.value[1])]).sort()).toEqual(
      cluster.gateways.map((_, i) => [cluster.gatewayId(i), 1]),
    );
    // Every service reaches what it checks: gateways and presence both, the api service Redis.
    const reachable = await query(
      'min by (service, instance, dependency) (roomcast_dependency_up)',
    );
    expect(reachable.filter((s) => s.value[1] !== '1')).toEqual([]);
    expect(reachable.map((s) => `${s.metric.service} ${s.metric.dependency}`).sort()).toEqual(
      expect.arrayContaining([
        'api redis',
        ...['gateway', 'gateway', 'presence'].flatMap((service) => [
          `${service} rabbitmq`,
          `${service} redis`,
        ]),
      ]),
    );
    expect((await query('max by (url) (roomcast_webhook_backlog_events)'))[0]?.metric.url).toBe(
      webhookUrl,
    );
    // Presence observes a lag per gateway heartbeat (every 2 s); a scrape of presence that a busy
    // machine missed leaves the rate without two points for a while, so the figure is waited for.
    let lag = NaN;
    await waitFor(
      async () => {
        lag = await value(
          `histogram_quantile(0.99, sum by (le) (rate(roomcast_presence_lag_seconds_bucket[1m])))`,
        );
        return Number.isFinite(lag);
      },
      10_000,
      'a presence lag figure',
      500,
    ).catch(() => undefined);
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(2);
  }, 50_000);

  it("answers every alerting rule's measure with series, and evaluates every rule without error", async () => {
    const rules = alertRules();
    expect(
      await emptyQueries(
        rules.map((r) => splitAlert(r.expr).measure),
        10_000,
      ),
    ).toEqual([]);
    // The rules file as shipped is loaded, evaluated every second, and none fails to evaluate.
    const loadedRules = async () => {
      const res = await fetch(`${promUrl}/api/v1/rules?type=alert`);
      return ((await res.json()) as RulesAnswer).data.groups.flatMap((g) => g.rules);
    };
    expect((await loadedRules()).map((r) => r.name).sort()).toEqual(
      rules.map((r) => r.alert).sort(),
    );
    let unhealthy: unknown[] = [];
    await waitFor(
      async () => {
        unhealthy = (await loadedRules()).filter((r) => r.health !== 'ok');
        return unhealthy.length === 0;
      },
      5000,
      'every rule evaluated ok',
    ).catch(() => undefined);
    expect(unhealthy).toEqual([]);
    // A healthy cluster puts none of them even in pending (each is pending as soon as its
    // condition holds, before its `for`). Right after the first scrapes a rate over a window
    // may still hold two samples taken between two heartbeats (one every 2 s, scraped every
    // second), which reads as no heartbeat: a pending alert must clear within a few seconds.
    let alerts: string[] = [];
    await waitFor(
      async () => {
        alerts = (await query('ALERTS')).map((s) => `${s.metric.alertname} ${s.metric.alertstate}`);
        return alerts.length === 0;
      },
      10_000,
      'no alert pending',
      500,
    ).catch(() => undefined);
    expect(alerts).toEqual([]);
  });

  it("counts a receiver's webhook backlog while it refuses events", async () => {
    refusing = true;
    try {
      // Each join of a new member is a member.joined event for the receiver.
      for (let i = 0; i < 3; i++) {
        const c = await connectClient(cluster.gateways[0].url, `visitor-${i}`);
        clients.push(c);
        expect((await c.ack<AnyAck>('room:join', { room: `${ROOM}-${i}` })).ok).toBe(true);
      }
      await waitFor(
        async () =>
          (await query('max by (url) (roomcast_webhook_backlog_events) > 0'))[0]?.metric.url ===
          webhookUrl,
        15_000,
        'a webhook backlog above 0',
      );
      // And the refusals themselves, on the attempts panel.
      await waitFor(
        async () =>
          (
            await query(
              `sum by (url) (rate(roomcast_webhook_attempts_total{result="failed"}[${RATE_INTERVAL}])) > 0`,
            )
          ).length === 1,
        10_000,
        'failed webhook attempts per second above 0',
      );
    } finally {
      refusing = false;
    }
  }, 30_000);

  it('puts RoomcastGatewayDown in pending for a killed gateway', async () => {
    chatting = false;
    await chat;
    const victim = cluster.gateways[1];
    stopService(victim, 'SIGKILL');
    await exited(victim.child);
    await waitFor(
      async () => {
        const alerts = await query('ALERTS{alertname="RoomcastGatewayDown"}');
        return (
          alerts.length === 1 &&
          alerts[0].metric.instance === `127.0.0.1:${victim.port}` &&
          alerts[0].metric.alertstate === 'pending'
        );
      },
      10_000,
      'RoomcastGatewayDown pending for the killed gateway',
    );
    expect(sent).toBeGreaterThan(0);
  }, 20_000);
});
