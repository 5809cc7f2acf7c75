import { PACKAGES, plan } from '../../scripts/system-deps';

describe('system packages (scripts/system-deps.js)', () => {
  it('does nothing when every package is there', () => {
    expect(plan([], { root: false, apt: false })).toEqual({ action: 'none' });
  });

  it('installs what is missing, quietly, as root with apt-get', () => {
    expect(plan(['nginx', 'chromium'], { root: true, apt: true })).toEqual({
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', 'nginx', 'chromium'],
      ],
    });
  });

  it('names the one command to run when it may not install', () => {
    expect(plan(['chromium'], { root: false, apt: true })).toEqual({
      action: 'ask',
      line: 'chromium not installed: run `sudo apt-get install -y chromium`',
    });
    const noApt = plan(['nginx', 'chromium'], { root: true, apt: false });
    expect(noApt).toEqual({
      action: 'ask',
      line:
        'nginx chromium not installed: install with your package manager ' +
        '(Debian/Ubuntu: `apt-get install -y nginx chromium`)',
    });
  });

  it('finds each package where the code that runs it looks (NGINX_BIN, CHROMIUM_PATH)', () => {
    expect(PACKAGES.nginx.present({ NGINX_BIN: '/nonexistent/nginx' })).toBe(false);
    expect(PACKAGES.nginx.present({ NGINX_BIN: process.execPath })).toBe(true);
    expect(PACKAGES.chromium.present({ CHROMIUM_PATH: '/nonexistent/chromium' })).toBe(false);
    expect(PACKAGES.chromium.present({ CHROMIUM_PATH: process.execPath })).toBe(true);
  });
});
