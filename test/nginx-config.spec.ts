import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { composeNginxConfig, writeLocalNginxConfig } from '../scripts/nginx-config';

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
    stats: '127.0.0.1:3000',
    listen: 8080,
    webRoot: '/srv/web',
  });
  const configs = { compose: composeNginxConfig(), local: readFileSync(local.conf, 'utf8') };

  afterAll(() => rmSync(prefix, { recursive: true, force: true }));

  describe.each(Object.entries(configs))('%s', (_, conf) => {
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

    it('sends /stats to the Stats API and serves the web client at /', () => {
      expect(directive(conf, 'proxy_pass', '= /stats')).toBe('http://stats');
      expect(directive(conf, 'proxy_pass', '/stats/')).toBe('http://stats');
      expect(directive(conf, 'root', '/')).toBeDefined();
      expect(conf).toMatch(/application\/javascript\s+js/);
    });

    it('sends the publish API and the operations page to stats', () => {
      expect(directive(conf, 'proxy_pass', '/api/')).toBe('http://stats');
      expect(directive(conf, 'proxy_pass', '= /admin')).toBe('http://stats');
      expect(directive(conf, 'proxy_pass', '/admin/')).toBe('http://stats');
    });
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
