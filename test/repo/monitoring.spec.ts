import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import {
  alertRules,
  MONITORING,
  PROMETHEUS_CONFIG,
  queryPanels,
  readDashboard,
  readPrometheusConfig,
  requireBinary,
  ROOT,
  RULE_TESTS,
  RULES_FILE,
  splitAlert,
} from '../suites/monitoring';

const MONITORING_SERVICES = ['grafana', 'prometheus', 'redis-exporter'];

interface ComposeService {
  image?: string;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, unknown>;
}
interface ComposeConfig {
  services: Record<string, ComposeService>;
}

/** Runs a program, failing with its output; a missing program fails with how to install it. */
function run(bin: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(bin, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  if (r.status !== 0)
    throw new Error(`${bin} ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe('monitoring/ with the real tools', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'roomcast-monitoring-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  describe('docker-compose.yml, parsed by Debian docker-compose', () => {
    /**
     * docker-compose 1.29 (Debian's) predates Compose 2.24's optional env file
     * (`env_file: [{ path: .env, required: false }]`), which `docker compose up` needs so that no
     * .env is required. That one entry is given to it as a plain (empty) env file; every other
     * line of the file is parsed as shipped: anchors and merges, profiles, health checks,
     * depends_on conditions, ports, volumes and the Prometheus entrypoint's `$$` escapes.
     */
    function composeConfig(
      extra: string[] = [],
      env: Record<string, string> = {},
      configArgs: string[] = [],
    ): string {
      const bin = requireBinary('docker-compose', 'docker-compose');
      const shipped = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
      const optionalEnv = '  env_file:\n    - path: .env\n      required: false\n';
      expect(shipped.split(optionalEnv)).toHaveLength(2);
      const emptyEnv = path.join(tmp, 'empty.env');
      writeFileSync(emptyEnv, '');
      const file = path.join(tmp, 'docker-compose.yml');
      writeFileSync(file, shipped.replace(optionalEnv, `  env_file:\n    - ${emptyEnv}\n`));
      // --env-file: the developer's own .env plays no part in the check.
      return run(
        bin,
        [
          '-f',
          file,
          '--project-directory',
          ROOT,
          '--env-file',
          emptyEnv,
          ...extra,
          'config',
          ...configArgs,
        ],
        { COMPOSE_PROFILES: '', ...env },
      );
    }

    it('parses without the profile: the core cluster, with the monitoring services held back by it', () => {
      const config = parse(composeConfig()) as ComposeConfig;
      const profiled = Object.entries(config.services)
        .filter(([, s]) => s.profiles?.length)
        .map(([name, s]) => [name, s.profiles]);
      expect(profiled).toEqual(MONITORING_SERVICES.map((s) => [s, ['monitoring']]));
      const core = Object.keys(config.services).filter((s) => !MONITORING_SERVICES.includes(s));
      expect(core.sort()).toEqual([
        'api',
        'gateway-1',
        'gateway-2',
        'gateway-3',
        'nginx',
        'presence',
        'rabbitmq',
        'redis',
      ]);
      // `up` without the profile must not need a profiled service.
      for (const name of core)
        expect([name, Object.keys(config.services[name].depends_on ?? {})]).toEqual([
          name,
          expect.not.arrayContaining(MONITORING_SERVICES),
        ]);
      expect(composeConfig([], {}, ['--profiles']).trim().split('\n')).toEqual(['monitoring']);
    });

    it('parses with the profile (--profile and COMPOSE_PROFILES), wired to monitoring/', () => {
      const withFlag = composeConfig(['--profile', 'monitoring']);
      expect(composeConfig([], { COMPOSE_PROFILES: 'monitoring' })).toBe(withFlag);
      const { services } = parse(withFlag) as ComposeConfig;

      const prometheus = services.prometheus;
      expect(prometheus.volumes).toContain(`${MONITORING}/prometheus:/etc/prometheus:ro`);
      const start = prometheus.command?.join(' ') ?? '';
      expect(start).toContain('--config.file=/etc/prometheus/prometheus.yml');
      // The api job's token file is written from STATS_TOKEN (a shell variable: `$$` in the
      // file, `$` once compose has read it) before Prometheus starts.
      const tokenFile = readPrometheusConfig().scrape_configs.find(
        (j) => j.job_name === 'roomcast-api',
      )?.authorization?.credentials_file;
      expect(start).toMatch(/printf '%s' "\$\$STATS_TOKEN" > \/prometheus\/stats-token/);
      expect(tokenFile).toBe('/prometheus/stats-token');
      expect(Object.keys(prometheus.environment ?? {})).toEqual(['STATS_TOKEN']);

      const grafana = services.grafana;
      expect(grafana.volumes).toEqual(
        expect.arrayContaining([
          `${MONITORING}/grafana/grafana.ini:/etc/grafana/grafana.ini:ro`,
          `${MONITORING}/grafana/provisioning:/etc/grafana/provisioning:ro`,
          `${MONITORING}/grafana/dashboards:/var/lib/grafana/dashboards:ro`,
        ]),
      );
      for (const v of [...(prometheus.volumes ?? []), ...(grafana.volumes ?? [])]) {
        const source = v.split(':')[0];
        if (source.startsWith('/')) expect([v, existsSync(source)]).toEqual([v, true]);
      }
      expect(services['redis-exporter'].command).toEqual(['--redis.addr=redis://redis:6379']);
    });
  });

  describe('the Prometheus configuration and rules, checked by promtool', () => {
    it('passes `promtool check config` (syntax; then whole, with the token file in place)', () => {
      const promtool = requireBinary('promtool', 'prometheus');
      expect(run(promtool, ['check', 'config', '--syntax-only', PROMETHEUS_CONFIG])).toMatch(
        /SUCCESS/,
      );
      // The whole check also opens the rule files and the api job's token file, which exists
      // only inside the container: a copy, with the rules beside it and that one path moved.
      const token = path.join(tmp, 'stats-token');
      writeFileSync(token, '');
      const shipped = readFileSync(PROMETHEUS_CONFIG, 'utf8');
      expect(shipped.split('/prometheus/stats-token')).toHaveLength(2);
      const copy = path.join(tmp, 'prometheus');
      cpSync(path.dirname(RULES_FILE), path.join(copy, 'rules'), { recursive: true });
      writeFileSync(
        path.join(copy, 'prometheus.yml'),
        shipped.replace('/prometheus/stats-token', token),
      );
      expect(run(promtool, ['check', 'config', path.join(copy, 'prometheus.yml')])).toMatch(
        /SUCCESS: 9 rules found/,
      );
    });

    it('passes `promtool check rules` and the rules unit tests (`promtool test rules`)', () => {
      const promtool = requireBinary('promtool', 'prometheus');
      expect(run(promtool, ['check', 'rules', RULES_FILE])).toMatch(/SUCCESS: 9 rules found/);
      expect(run(promtool, ['test', 'rules', RULE_TESTS])).toMatch(/SUCCESS/);
    });

    it('has the alerts the operators need, each `<measure> <comparison> <number>` and unit-tested', () => {
      const rules = alertRules();
      expect(rules.map((r) => r.alert).sort()).toEqual([
        'RoomcastBrokerUnreachable',
        'RoomcastDeliveryLatencyHigh',
        'RoomcastGatewayDown',
        'RoomcastPresenceLagging',
        'RoomcastPresenceStalled',
        'RoomcastRedisUnreachable',
        'RoomcastServiceDown',
        'RoomcastUnusedBrokerDeliveries',
        'RoomcastWebhookBacklogGrowing',
      ]);
      const tested = readFileSync(RULE_TESTS, 'utf8');
      for (const r of rules) {
        expect(() => splitAlert(r.expr)).not.toThrow();
        expect([r.alert, r.for, r.labels?.severity]).toEqual([
          r.alert,
          expect.stringMatching(/^\d+m$/),
          expect.stringMatching(/^(warning|critical)$/),
        ]);
        expect(r.annotations?.summary).toBeTruthy();
        // A firing case of each rule in the unit tests.
        expect([
          r.alert,
          tested.includes(`alertname: ${r.alert}\n        exp_alerts:\n          -`),
        ]).toEqual([r.alert, true]);
      }
    });

    it('scrapes every roomcast service of the compose file, on the port it listens on, and the exporters', () => {
      const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), {
        merge: true,
      }) as ComposeConfig;
      const targets = Object.fromEntries(
        readPrometheusConfig().scrape_configs.map((j) => [
          j.job_name,
          j.static_configs.flatMap((s) => s.targets).sort(),
        ]),
      );
      const at = (name: string) => `${name}:${compose.services[name].environment?.PORT}`;
      expect(targets).toEqual({
        'roomcast-gateway': ['gateway-1', 'gateway-2', 'gateway-3'].map(at),
        'roomcast-presence': [at('presence')],
        'roomcast-api': [at('api')],
        rabbitmq: ['rabbitmq:15692'],
        redis: ['redis-exporter:9121'],
      });
    });
  });

  describe('the Grafana dashboard and provisioning', () => {
    const dashboard = readDashboard();

    it('is a dashboard Grafana loads: uid, title, a schema version, unique ids, a grid position each', () => {
      expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(dashboard.title).toBeTruthy();
      expect(Number.isInteger(dashboard.schemaVersion)).toBe(true);
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
      const ids = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of dashboard.panels) {
        const g = p.gridPos;
        expect([p.title, g && g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24]).toEqual([
          p.title,
          true,
        ]);
      }
    });

    it('picks its Prometheus through a datasource variable, used by every panel and query', () => {
      const variables = dashboard.templating.list.filter((v) => v.type === 'datasource');
      expect(variables).toEqual([
        expect.objectContaining({ name: 'datasource', query: 'prometheus' }),
      ]);
      const ds = { type: 'prometheus', uid: '${datasource}' };
      for (const p of queryPanels(dashboard)) {
        expect([p.title, p.datasource]).toEqual([p.title, ds]);
        for (const t of p.targets ?? []) expect([p.title, t.datasource]).toEqual([p.title, ds]);
      }
    });

    it('has no panel without a query, and a panel for each thing operators watch', () => {
      const panels = queryPanels(dashboard);
      for (const p of panels) {
        const exprs = (p.targets ?? []).map((t) => t.expr?.trim() ?? '');
        expect([p.title, exprs.length > 0 && exprs.every((e) => e.length > 0)]).toEqual([
          p.title,
          true,
        ]);
        const refIds = (p.targets ?? []).map((t) => t.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
      const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')).join('\n');
      for (const metric of [
        'roomcast_connections',
        'roomcast_users_online',
        'roomcast_messages_accepted_total',
        'roomcast_delivery_latency_seconds_count',
        'roomcast_broker_deliveries_total',
        'histogram_quantile(0.5, sum by (le) (rate(roomcast_delivery_latency_seconds_bucket',
        'histogram_quantile(0.99, sum by (le) (rate(roomcast_delivery_latency_seconds_bucket',
        'roomcast_broker_deliveries_unused_total',
        'roomcast_room_bindings',
        'roomcast_dependency_up',
        'roomcast_dependency_check_failures_total',
        'roomcast_presence_applied_total',
        'roomcast_presence_lag_seconds_bucket',
        'max by (url) (roomcast_webhook_backlog_events)',
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
      ])
        expect([metric, queries.includes(metric)]).toEqual([metric, true]);
    });

    it('is provisioned: the Prometheus data source and a provider for the dashboards folder', () => {
      const datasources = parse(
        readFileSync(
          path.join(MONITORING, 'grafana/provisioning/datasources/prometheus.yml'),
          'utf8',
        ),
      ) as {
        apiVersion: number;
        datasources: { type: string; url: string; isDefault?: boolean }[];
      };
      expect(datasources.apiVersion).toBe(1);
      expect(datasources.datasources).toEqual([
        expect.objectContaining({
          type: 'prometheus',
          url: 'http://prometheus:9090',
          isDefault: true,
        }),
      ]);
      const providers = parse(
        readFileSync(path.join(MONITORING, 'grafana/provisioning/dashboards/roomcast.yml'), 'utf8'),
      ) as { apiVersion: number; providers: { type: string; options: { path: string } }[] };
      expect(providers.apiVersion).toBe(1);
      expect(providers.providers).toEqual([
        expect.objectContaining({
          type: 'file',
          options: expect.objectContaining({ path: '/var/lib/grafana/dashboards' }),
        }),
      ]);
      expect(readFileSync(path.join(MONITORING, 'grafana/grafana.ini'), 'utf8')).toContain(
        'default_home_dashboard_path = /var/lib/grafana/dashboards/roomcast.json',
      );
    });
  });
});
