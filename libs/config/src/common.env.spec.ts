import { amqpUrls, CommonEnv, redisUrlProblem, redisUrls } from './common.env';
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

describe('AMQP_URL', () => {
  it('defaults to one local broker', () => {
    expect(amqpUrls(loadConfig(CommonEnv, {}).AMQP_URL)).toEqual([
      'amqp://guest:guest@127.0.0.1:5672',
    ]);
  });

  it.each([
    'amqp://guest:guest@127.0.0.1:5672',
    'amqps://u:p@rabbit.example.com:5671/vhost',
    'amqp://u:p@10.0.0.1:5672,amqp://u:p@10.0.0.2:5672,amqp://u:p@10.0.0.3:5672',
    'amqp://a:5672, amqps://[::1]:5671',
  ])('accepts %s', (url) => {
    expect(problem({ AMQP_URL: url })).toBeUndefined();
  });

  it('lists a cluster in the order given, trimmed', () => {
    expect(amqpUrls('amqp://a:1, amqp://b:2 ,amqp://c:3')).toEqual([
      'amqp://a:1',
      'amqp://b:2',
      'amqp://c:3',
    ]);
  });

  it.each([
    ['http://127.0.0.1:5672', 'http://127.0.0.1:5672'],
    ['amqp://', 'amqp://'],
    ['amqp://a:1,', '""'],
    ['amqp://a:1,127.0.0.1:5672', '127.0.0.1:5672'],
  ])('refuses %s in one line naming the bad part (%s)', (url, bad) => {
    const message = problem({ AMQP_URL: url });
    expect(message).toMatch(/AMQP_URL must be an amqp:\/\/ or amqps:\/\/ URL/);
    expect(message).toContain(`(not: ${bad}`);
    expect(message).not.toMatch(/\n/);
  });

  it('never prints a password of a refused URL', () => {
    const message = problem({ AMQP_URL: 'amqp://u:p@a:1,http://user:secret@b:2' });
    expect(message).toContain('http://user:***@b:2');
    expect(message).not.toContain('secret');
  });
});
