import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PACKAGES, plan } from '../../scripts/system-deps';

describe('system packages for the monitoring tests (prometheus, docker-compose)', () => {
  it('installs them without their recommended packages, and stops the service the install started', () => {
    expect(plan(['nginx', 'prometheus', 'docker-compose'], { root: true, apt: true })).toEqual({
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', 'nginx'],
        // Not prometheus-node-exporter, not docker.io: a container engine is not needed to parse.
        [
          'apt-get',
          'install',
          '-y',
          '-qq',
          '--no-install-recommends',
          'prometheus',
          'docker-compose',
        ],
      ],
      after: [
        [
          'sh',
          '-c',
          'if [ -d /run/systemd/system ]; then systemctl disable --now prometheus; ' +
            'elif [ -x /etc/init.d/prometheus ]; then /etc/init.d/prometheus stop; fi',
        ],
      ],
    });
    // docker-compose alone starts nothing.
    expect(plan(['docker-compose'], { root: true, apt: true })).not.toHaveProperty('after');
  });

  it('names the commands to run when it may not install', () => {
    expect(plan(['chromium', 'prometheus'], { root: false, apt: true })).toEqual({
      action: 'ask',
      line:
        'chromium prometheus not installed: run `sudo apt-get install -y chromium` and ' +
        '`sudo apt-get install -y --no-install-recommends prometheus`',
    });
  });

  it('finds them on the PATH, prometheus only with promtool beside it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'system-deps-'));
    try {
      const env = { PATH: `/nonexistent${path.delimiter}${dir}` };
      expect(PACKAGES.prometheus.present(env)).toBe(false);
      expect(PACKAGES['docker-compose'].present(env)).toBe(false);
      writeFileSync(path.join(dir, 'prometheus'), '');
      expect(PACKAGES.prometheus.present(env)).toBe(false);
      writeFileSync(path.join(dir, 'promtool'), '');
      writeFileSync(path.join(dir, 'docker-compose'), '');
      expect(PACKAGES.prometheus.present(env)).toBe(true);
      expect(PACKAGES['docker-compose'].present(env)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
