import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { composeNginxConfig, writeLocalNginxConfig } from '../../scripts/nginx-config';

const ROOT = path.resolve(__dirname, '../..');

/** The value of a directive inside the `location <path>` block, or of the first one anywhere. */
function directive(conf: string, name: string, location?: string): string | undefined {
  let scope = conf;
  if (location !== undefined) {
    const start = conf.indexOf(`location ${location} {`);
    if (start < 0) return undefined;
    scope = conf.slice(start, conf.indexOf('}', start));
  }
  return new RegExp(`^\\s*${name}\\s+([^;]*);`, 'm').exec(scope)?.[1];
}
const seconds = (v: string | undefined) => Number(/^(\d+)s$/.exec(v ?? '')?.[1] ?? NaN);

describe('nginx config (nginx/nginx.conf.template)', () => {
  const prefix = mkdtempSync(path.join(tmpdir(), 'roomcast-nginx-spec-'));
  const local = writeLocalNginxConfig({
    prefix,
    gateways: ['127.0.0.1:3001', '127.0.0.1:3002', '127.0.0.1:3003'],
    api: '127.0.0.1:3000',
    listen: 8080,
    webRoot: '/srv/web',
  });
  const configs = { compose: composeNginxConfig(), local: readFileSync(local.conf, 'utf8') };

  afterAll(() => rmSync(prefix, { recursive: true, force: true }));

  /** Where each config's `location /` must find the build of `npm run build:web`. */
  const WEB_ROOTS: Record<string, string> = { compose: '/usr/share/nginx/html', local: '/srv/web' };

  describe.each(Object.entries(configs))('%s', (name, conf) => {
    it('has one entry port, 8080', () => {
      expect([...conf.matchAll(/^\s*listen\s+([^;]+);/gm)].map((m) => m[1])).toEqual(['8080']);
    });

    it('sends /socket.io/ to sticky gateways with the WebSocket upgrade', () => {
      expect(directive(conf, 'proxy_pass', '/socket.io/')).toBe('http://gateways');
      expect(conf).toMatch(/upstream gateways \{\s*hash \$remote_addr consistent;/);
      expect(conf).not.toMatch(/^\s*ip_hash/m);
      expect(directive(conf, 'proxy_http_version', '/socket.io/')).toBe('1.1');
      expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
      expect(conf).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    });

    it('keeps idle sockets longer than Socket.IO pingInterval + pingTimeout (25 s + 20 s)', () => {
      expect(seconds(directive(conf, 'proxy_read_timeout', '/socket.io/'))).toBeGreaterThan(45);
      expect(seconds(directive(conf, 'proxy_send_timeout', '/socket.io/'))).toBeGreaterThan(45);
    });

    it('sends /stats to the Stats API', () => {
      expect(directive(conf, 'proxy_pass', '= /stats')).toBe('http://api');
      expect(directive(conf, 'proxy_pass', '/stats/')).toBe('http://api');
    });

    it('serves the web client at /: index.html and its assets from the web build', () => {
      const webRoot = WEB_ROOTS[name];
      expect(directive(conf, 'root', '/')).toBe(webRoot);
      expect(directive(conf, 'root', '/assets/')).toBe(webRoot);
      // `/` is the root directory itself ($uri/), whose index is index.html: nginx's default,
      // which no `index` directive overrides. Anything else that is not a file is a 404.
      expect(directive(conf, 'try_files', '/')).toBe('$uri $uri/ =404');
      expect(conf).not.toMatch(/^\s*index\s/m);
      // A browser refuses a module script of another type.
      expect(conf).toMatch(/^\s*text\/html\s+html;/m);
      expect(conf).toMatch(/^\s*application\/javascript\s+js\b/m);
    });

    it('sends the publish API and the operations page to the api service', () => {
      expect(directive(conf, 'proxy_pass', '/api/')).toBe('http://api');
      expect(directive(conf, 'proxy_pass', '= /admin')).toBe('http://api');
      expect(directive(conf, 'proxy_pass', '/admin/')).toBe('http://api');
    });
  });

  it('looks for the web client where `npm run build:web` puts it, locally and in the image', () => {
    // Vite builds web/ (its index.html the entry) into dist/web.
    expect(existsSync(path.join(ROOT, 'web', 'index.html'))).toBe(true);
    expect(readFileSync(path.join(ROOT, 'web', 'vite.config.mts'), 'utf8')).toMatch(
      /^\s*root: here\('\.'\),[\s\S]*\boutDir: here\('\.\.\/dist\/web'\)/m,
    );
    // A local config (npm start, the browser e2e through real nginx) serves dist/web itself.
    const own = mkdtempSync(path.join(tmpdir(), 'roomcast-nginx-spec-'));
    try {
      const { conf } = writeLocalNginxConfig({
        prefix: own,
        gateways: ['127.0.0.1:3001'],
        api: '127.0.0.1:3000',
      });
      const text = readFileSync(conf, 'utf8');
      expect(directive(text, 'root', '/')).toBe(path.join(ROOT, 'dist', 'web'));
      expect(directive(text, 'root', '/assets/')).toBe(path.join(ROOT, 'dist', 'web'));
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
    // The image's web stage copies the build (made in /app) to the compose config's root.
    const stages = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split(/^FROM /m);
    expect(stages.find((s) => / AS build\n/.test(s))).toMatch(/^WORKDIR \/app$/m);
    expect(stages.find((s) => / AS web\n/.test(s))).toMatch(
      /^COPY --from=build \/app\/dist\/web \/usr\/share\/nginx\/html$/m,
    );
  });

  it('sizes the compose config for 10k sockets on one worker (two connections each)', () => {
    expect(Number(directive(configs.compose, 'worker_connections'))).toBeGreaterThanOrEqual(20000);
    expect(Number(directive(configs.compose, 'worker_rlimit_nofile'))).toBeGreaterThanOrEqual(
      Number(directive(configs.compose, 'worker_connections')),
    );
  });

  it('runs locally without root: pid, temp files and logs under the prefix, in the foreground', () => {
    const conf = configs.local;
    expect(directive(conf, 'pid')).toBe(path.join(prefix, 'nginx.pid'));
    for (const temp of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
      expect(directive(conf, `${temp}_temp_path`)).toBe(path.join(prefix, 'temp', temp));
    }
    expect(directive(conf, 'root', '/')).toBe('/srv/web');
    expect(directive(conf, 'error_log')).toBe('stderr warn');
    expect(upstream(conf)).toEqual(['127.0.0.1:3001', '127.0.0.1:3002', '127.0.0.1:3003']);
    expect(local.args).toEqual([
      '-p',
      prefix,
      '-c',
      local.conf,
      '-e',
      'stderr',
      '-g',
      'daemon off;',
    ]);
    // Workers run as `nobody` when nginx is started by root: they must reach the temp dirs.
    expect(statSync(prefix).mode & 0o777).toBe(0o755);
  });
});

function upstream(conf: string): string[] {
  const block = /upstream gateways \{([^}]*)\}/.exec(conf)?.[1] ?? '';
  return [...block.matchAll(/^\s*server\s+(\S+);/gm)].map((m) => m[1]);
}
