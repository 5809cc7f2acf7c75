import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

/** What monitoring/ ships (docs/monitoring.md), read by the repo checks and the e2e. */
export const ROOT = path.resolve(__dirname, '../..');
export const MONITORING = path.join(ROOT, 'monitoring');
export const PROMETHEUS_CONFIG = path.join(MONITORING, 'prometheus/prometheus.yml');
export const RULES_FILE = path.join(MONITORING, 'prometheus/rules/roomcast.rules.yml');
export const RULE_TESTS = path.join(MONITORING, 'prometheus/tests/roomcast.rules.test.yml');
export const DASHBOARD = path.join(MONITORING, 'grafana/dashboards/roomcast.json');

/**
 * The path of a program a Debian package brings (prometheus, promtool, docker-compose), or a
 * failure that says how to install it: `npm test` does, through scripts/system-deps.js.
 */
export function requireBinary(bin: string, debianPackage: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  const found = r.stdout.trim();
  if (r.status !== 0 || !found)
    throw new Error(
      `${bin} not found: it comes with Debian's ${debianPackage} package; ` +
        `run \`node scripts/system-deps.js ${debianPackage}\` (as root it installs it)`,
    );
  return found;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ScrapeConfig {
  job_name: string;
  honor_labels?: boolean;
  metrics_path?: string;
  authorization?: { type?: string; credentials_file?: string };
  static_configs: { targets: string[] }[];
}

export interface PrometheusConfig {
  global: Record<string, string>;
  rule_files: string[];
  scrape_configs: ScrapeConfig[];
}

export const readPrometheusConfig = () =>
  parse(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as PrometheusConfig;

export function alertRules(): AlertRule[] {
  const file = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return file.groups.flatMap((g) => g.rules);
}

/**
 * A rule's expression split as the rules file promises: `<measure> <comparison> <number>`. The
 * measure is what must return series from a live cluster (the comparison filters them).
 */
export function splitAlert(expr: string): { measure: string; op: string; threshold: number } {
  const m = /^([\s\S]+?)\s*(==|!=|>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/.exec(expr.trim());
  if (!m) throw new Error(`not "<measure> <comparison> <number>": ${expr}`);
  return { measure: m[1], op: m[2], threshold: Number(m[3]) };
}

export interface DashboardTarget {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { type: string; name: string; query?: string }[] };
  panels: DashboardPanel[];
}

export const readDashboard = () => JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

/** Every panel, rows' collapsed panels included; rows themselves are not panels with queries. */
export function queryPanels(d: Dashboard): DashboardPanel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
}

/**
 * A dashboard query as Prometheus's HTTP API takes it: Grafana's `$__rate_interval` becomes
 * `rateInterval` (at least four scrape intervals, as Grafana makes it).
 */
export function asPromQL(expr: string, rateInterval: string): string {
  return expr.replaceAll('$__rate_interval', rateInterval);
}
