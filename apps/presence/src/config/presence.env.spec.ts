import { loadConfig } from '@roomcast/config';
import { PresenceEnv, webhookUrls } from './presence.env';

describe('PresenceEnv webhooks', () => {
  const load = (env: Record<string, string>) => () => loadConfig(PresenceEnv, env);

  it('takes several URLs with a secret, and none by default', () => {
    const c = loadConfig(PresenceEnv, {
      WEBHOOK_URL: 'http://a.example/hooks, https://b.example/in',
      WEBHOOK_SECRET: 'a-secret-of-16-chars',
    });
    expect(webhookUrls(c)).toEqual(['http://a.example/hooks', 'https://b.example/in']);
    expect(webhookUrls(loadConfig(PresenceEnv, {}))).toEqual([]);
  });

  it('refuses a URL without a secret, a short secret, bad or repeated URLs', () => {
    expect(load({ WEBHOOK_URL: 'http://a.example/h' })).toThrow(/WEBHOOK_SECRET/);
    expect(load({ WEBHOOK_URL: 'http://a.example/h', WEBHOOK_SECRET: 'short' })).toThrow(
      /at least 16/,
    );
    const secret = { WEBHOOK_SECRET: 'a-secret-of-16-chars' };
    expect(load({ WEBHOOK_URL: 'not a url', ...secret })).toThrow(/not a URL/);
    expect(load({ WEBHOOK_URL: 'ftp://a.example/h', ...secret })).toThrow(/ftp: is not/);
    expect(load({ WEBHOOK_URL: 'http://a/h,http://a/h', ...secret })).toThrow(/twice/);
  });
});
