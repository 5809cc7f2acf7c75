import { CommonEnv, redisUrlProblem, redisUrls } from './common.env';
import { ConfigError, loadConfig } from './load-config';

function problem(env: Record<string, string>): string | undefined {
  try {
    loadConfig(CommonEnv, env);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe('REDIS_URL and REDIS_CLUSTER', () => {
  it('default to one local Redis, standalone', () => {
    const c = loadConfig(CommonEnv, {});
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.REDIS_CLUSTER).toBe(false);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
  ])('REDIS_CLUSTER=%s is %s', (value, expected) => {
    expect(loadConfig(CommonEnv, { REDIS_CLUSTER: value }).REDIS_CLUSTER).toBe(expected);
  });

  it.each([
    ['redis://127.0.0.1:6379', false],
    ['rediss://user:secret@redis.example.com:6380/2', false],
    ['redis://127.0.0.1:7001', true],
    ['redis://127.0.0.1:7001,redis://127.0.0.1:7002', true],
    ['redis://127.0.0.1:7001, rediss://[::1]:7002/0', true],
  ])('accepts %s with REDIS_CLUSTER=%s', (url, cluster) => {
    expect(redisUrlProblem(url, cluster)).toBeUndefined();
    expect(problem({ REDIS_URL: url, REDIS_CLUSTER: String(cluster) })).toBeUndefined();
  });

  it.each([
    ['http://127.0.0.1:6379', false],
    ['127.0.0.1:6379', false],
    ['redis://', false],
    ['redis://127.0.0.1:7001,127.0.0.1:7002', true],
    ['redis://127.0.0.1:7001,', true],
  ])('refuses %s (REDIS_CLUSTER=%s) as not redis:// URLs', (url, cluster) => {
    expect(problem({ REDIS_URL: url, REDIS_CLUSTER: String(cluster) })).toMatch(
      /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  it('refuses a list of nodes without REDIS_CLUSTER=true, in one line naming the setting', () => {
    const message = problem({ REDIS_URL: 'redis://127.0.0.1:7001,redis://127.0.0.1:7002' });
    expect(message).toMatch(/set REDIS_CLUSTER=true$/);
    expect(message).not.toMatch(/\n/);
  });

  it('refuses a database other than 0 in cluster mode', () => {
    expect(problem({ REDIS_URL: 'redis://127.0.0.1:7001/3', REDIS_CLUSTER: 'true' })).toMatch(
      /database 0 only/,
    );
  });

  it('splits a list into its URLs', () => {
    expect(redisUrls('redis://a:1, redis://b:2')).toEqual(['redis://a:1', 'redis://b:2']);
    expect(redisUrls('redis://a:1')).toEqual(['redis://a:1']);
  });
});
