import { loadConfig } from '@roomcast/config';
import { PresenceEnv, webhookUrls } from './presence.env';

const WHSEC = `whsec_${Buffer.from('a-key-of-32-bytes-for-the-tests!').toString('base64')}`;

describe('PresenceEnv webhooks', () => {
  const load = (env: Record<string, string>) => () => loadConfig(PresenceEnv, env);

  it('takes several URLs with a secret, and none by default', () => {
    const c = loadConfig(PresenceEnv, {
      WEBHOOK_URL: 'http://a.example/hooks, https://b.example/in',
      WEBHOOK_SECRET: WHSEC,
    });
    expect(webhookUrls(c)).toEqual(['http://a.example/hooks', 'https://b.example/in']);
    expect(webhookUrls(loadConfig(PresenceEnv, {}))).toEqual([]);
  });

  it('refuses a URL without a secret, a short secret, bad or repeated URLs', () => {
    expect(load({ WEBHOOK_URL: 'http://a.example/h' })).toThrow(/WEBHOOK_SECRET/);
    // A plain secret (the old scheme's) is refused, saying how to make a Standard Webhooks one.
    for (const old of ['short', 'a-secret-of-16-chars-or-more', 'whsec_c2hvcnQ=']) {
      expect(load({ WEBHOOK_URL: 'http://a.example/h', WEBHOOK_SECRET: old })).toThrow(
        /WEBHOOK_SECRET.*(whsec_|24 to 64 bytes).*randomBytes\(32\)/,
      );
    }
    const secret = { WEBHOOK_SECRET: WHSEC };
    expect(load({ WEBHOOK_URL: 'not a url', ...secret })).toThrow(/not a URL/);
    expect(load({ WEBHOOK_URL: 'ftp://a.example/h', ...secret })).toThrow(/ftp: is not/);
    expect(load({ WEBHOOK_URL: 'http://a/h,http://a/h', ...secret })).toThrow(/twice/);
  });
});
