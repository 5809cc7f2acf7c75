import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { composeNginxConfig } from '../../scripts/nginx-config';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  profiles?: string[];
  build?: { context: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition?: string }>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const GATEWAYS = ['gateway-1', 'gateway-2', 'gateway-3'];
const APPS = ['presence', 'api', ...GATEWAYS];

const portOf = (name: string) => Number(services[name].environment?.PORT);
/** The ports a service listens on inside its container. */
function listening(name: string): number[] {
  const images: Record<string, number[]> = {
    rabbitmq: [5672, 15672],
    redis: [6379],
    nginx: [8080],
    prometheus: [9090],
    grafana: [3000],
  };
  return images[name] ?? [portOf(name)];
}
/** The `server` lines of one upstream block of an nginx config. */
function upstream(conf: string, name: string): string[] {
  const block = new RegExp(`upstream ${name} \\{([^}]*)\\}`).exec(conf);
  if (!block) throw new Error(`nginx config has no upstream ${name}`);
  return [...block[1].matchAll(/^\s*server\s+(\S+);/gm)].map((m) => m[1]);
}
/** One line per violation, so a failure names every offending service at once. */
function problems(check: (name: string, service: Service) => (string | boolean)[]): string[] {
  return Object.entries(services).flatMap(([name, s]) =>
    check(name, s)
      .filter((p): p is string => typeof p === 'string')
      .map((p) => `${name}: ${p}`),
  );
}

describe('docker-compose.yml', () => {
  it('runs RabbitMQ (with management), Redis, 3 gateways, presence, the api service and nginx', () => {
    // Without a profile: the monitoring profile's services are checked in monitoring.spec.ts.
    const core = Object.keys(services).filter((name) => !services[name].profiles);
    expect(core.sort()).toEqual(['rabbitmq', 'redis', 'nginx', ...APPS].sort());
    expect(services.rabbitmq.image).toMatch(/^rabbitmq:[\w.-]*management/);
    expect(services.redis.image).toMatch(/^redis:/);
  });

  it('runs supported releases: RabbitMQ 4, Redis 7.4 or later', () => {
    expect(services.rabbitmq.image).toMatch(/^rabbitmq:4[\w.-]*$/);
    const redis = /^redis:(\d+)(?:\.(\d+))?[\w.-]*$/.exec(services.redis.image ?? '');
    expect(redis).not.toBeNull();
    const [major, minor] = [Number(redis![1]), Number(redis![2] ?? 99)];
    expect(major > 7 || (major === 7 && minor >= 4)).toBe(true);
  });

  it('lets the gateways take the client address nginx saw (TRUST_PROXY), as they sit behind it', () => {
    // The gateway takes the rightmost X-Forwarded-For entry, the one nginx appends; without
    // TRUST_PROXY every client would be nginx's address and share one connection cap.
    expect(GATEWAYS.map((g) => services[g].environment?.TRUST_PROXY)).toEqual(
      GATEWAYS.map(() => 'true'),
    );
    expect(read('nginx/nginx.conf')).toMatch(
      /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/,
    );
  });

  it('keeps Redis history across restarts (append-only file on a volume)', () => {
    expect(services.redis.command?.join(' ')).toMatch(/--appendonly yes/);
    expect(services.redis.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
  });

  it('runs each roomcast service from the Dockerfile stage that has it', () => {
    const dockerfile = read('Dockerfile');
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
    for (const name of APPS) {
      const app = name.startsWith('gateway') ? 'gateway' : name;
      expect(services[name].command).toEqual(['node', `dist/apps/${app}/src/main.js`]);
      expect(services[name].build?.target).toBe('app');
    }
    expect(services.nginx.build?.target).toBe('web');
    expect(stages).toEqual(expect.arrayContaining(['app', 'web']));
    // `docker build .` builds the last stage: the services' image.
    expect(stages.at(-1)).toBe('app');
    // Node 24 LTS in every Node stage, and exactly the lock file's dependencies.
    const bases = [...dockerfile.matchAll(/^FROM (node:\S+)/gm)].map((m) => m[1]);
    expect(bases.length).toBeGreaterThanOrEqual(2);
    for (const base of bases) expect(base).toMatch(/^node:24-bookworm-slim$/);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).not.toMatch(/npm install/);
    expect(dockerfile).toMatch(/^COPY package\.json package-lock\.json \.\/$/m);
    expect(dockerfile).toMatch(/^COPY web web$/m);
    expect(dockerfile).toMatch(/npm run build:web/);
  });

  it('health-checks every service and starts each only once its dependencies are healthy', () => {
    expect(
      problems((name, s) => [
        !(s.healthcheck?.test && s.healthcheck.test.length > 1) && 'no health check',
        s.healthcheck?.disable === true && 'health check disabled',
        ...Object.entries(s.depends_on ?? {}).flatMap(([dep, { condition }]) => [
          condition !== 'service_healthy' && `depends_on ${dep} without service_healthy`,
          !services[dep] && `depends_on unknown service ${dep}`,
        ]),
      ]),
    ).toEqual([]);
    for (const name of APPS) {
      expect(Object.keys(services[name].depends_on ?? {})).toEqual(
        expect.arrayContaining(['rabbitmq', 'redis']),
      );
      // The health check asks the port the service listens on.
      const check = services[name].healthcheck?.test?.join(' ') ?? '';
      expect(check.includes('process.env.PORT') || check.includes(`:${portOf(name)}/ready`)).toBe(
        true,
      );
    }
    for (const name of GATEWAYS) expect(services[name].depends_on).toHaveProperty('presence');
    expect(Object.keys(services.nginx.depends_on ?? {}).sort()).toEqual(
      [...GATEWAYS, 'api'].sort(),
    );
  });

  it('sets only environment variables that .env.example documents', () => {
    const documented = new Set(
      [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]),
    );
    expect(
      problems((_, s) =>
        Object.keys(s.environment ?? {}).map(
          (key) => !documented.has(key) && `${key} is not in .env.example`,
        ),
      ),
    ).toEqual([]);
    for (const name of APPS) expect(portOf(name)).toBeGreaterThan(0);
    expect(new Set(GATEWAYS.map((g) => services[g].environment?.INSTANCE_ID)).size).toBe(3);
  });

  it('points nginx at exactly the compose gateways and the api service, on the ports they listen on', () => {
    const conf = read('nginx/nginx.conf');
    expect(upstream(conf, 'gateways').sort()).toEqual(GATEWAYS.map((g) => `${g}:${portOf(g)}`));
    expect(upstream(conf, 'api')).toEqual([`api:${portOf('api')}`]);
    expect(services.nginx.volumes).toContain('./nginx/nginx.conf:/etc/nginx/nginx.conf:ro');
  });

  it('keeps nginx/nginx.conf generated from the template', () => {
    // On failure: node scripts/nginx-config.js compose
    expect(read('nginx/nginx.conf')).toBe(composeNginxConfig());
  });

  it('publishes one entry port (nginx, 8080), no gateway port, and only ports that listen', () => {
    expect(services.nginx.ports).toEqual(['8080:8080']);
    expect(read('nginx/nginx.conf')).toMatch(/^\s*listen 8080;$/m);
    const hostPorts: string[] = [];
    expect(
      problems((name, s) =>
        (s.ports ?? []).map((spec) => {
          // [address:]hostPort:containerPort
          const parts = spec.split(':');
          const container = Number(parts.at(-1));
          hostPorts.push(parts.slice(0, -1).join(':'));
          return !listening(name).includes(container) && `publishes ${container}, not listened on`;
        }),
      ),
    ).toEqual([]);
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    expect(problems((name, s) => [APPS.includes(name) && !!s.ports && 'publishes a port'])).toEqual(
      [],
    );
  });
});
