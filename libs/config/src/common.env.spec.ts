import {
  amqpClusters,
  amqpUrls,
  clusterSuffix,
  CommonEnv,
  publisherOptions,
  redisUrlProblem,
  redisUrls,
  WriterEnv,
} from './common.env';
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

  it.each([
    'amqp://a:1;amqp://b:1',
    'amqp://a1:1,amqp://a2:1;amqp://b1:1 ; amqps://c:5671',
    // The same host on another port, or another vhost of one broker, is another broker.
    'amqp://a:1;amqp://a:2',
  ])('accepts several clusters: %s', (url) => {
    expect(problem({ AMQP_URL: url })).toBeUndefined();
  });

  it('splits clusters on semicolons and nodes on commas, in the order given', () => {
    expect(amqpClusters('amqp://a1:1, amqp://a2:1 ; amqp://b:1')).toEqual([
      ['amqp://a1:1', 'amqp://a2:1'],
      ['amqp://b:1'],
    ]);
    expect(amqpClusters('amqp://a:1,amqp://b:1')).toEqual([['amqp://a:1', 'amqp://b:1']]);
    // The first cluster is the home one (webhook queues): amqpUrls names its nodes.
    expect(amqpUrls('amqp://a1:1,amqp://a2:1;amqp://b:1')).toEqual(['amqp://a1:1', 'amqp://a2:1']);
  });

  it('names publishing connections as before with one cluster, by cluster with several', () => {
    const one = loadConfig(WriterEnv, { AMQP_URL: 'amqp://a:1', INSTANCE_ID: 'g1' });
    expect(publisherOptions(one)).toMatchObject({ urls: ['amqp://a:1'], name: 'g1/publish' });
    expect(clusterSuffix(one.AMQP_URL, 0)).toBe('');
    const two = loadConfig(WriterEnv, { AMQP_URL: 'amqp://a:1;amqp://b:1', INSTANCE_ID: 'g1' });
    expect(publisherOptions(two)).toMatchObject({
      urls: ['amqp://a:1'],
      name: 'g1/publish/cluster-0',
    });
    expect(publisherOptions(two, 1)).toMatchObject({
      urls: ['amqp://b:1'],
      name: 'g1/publish/cluster-1',
    });
  });

  it.each([
    ['amqp://a:1;', 'number 2 of 2'],
    [';amqp://a:1', 'number 1 of 2'],
    ['amqp://a:1;;amqp://b:1', 'number 2 of 3'],
  ])('refuses an empty cluster in %s in one line', (url, which) => {
    const message = problem({ AMQP_URL: url });
    expect(message).toContain(`AMQP_URL has an empty cluster (${which})`);
    expect(message).not.toMatch(/\n/);
  });

  it('refuses a bad URL in a later cluster, naming it', () => {
    const message = problem({ AMQP_URL: 'amqp://a:1;amqp://b:1,http://c:1' });
    expect(message).toMatch(/AMQP_URL must be an amqp:\/\/ or amqps:\/\/ URL/);
    expect(message).toContain('(not: http://c:1/)');
  });

  it('refuses one broker named in two clusters', () => {
    const message = problem({ AMQP_URL: 'amqp://u:p@a:5672,amqp://b:1;amqp://a' });
    expect(message).toContain(
      'AMQP_URL names the broker a:5672/ in clusters 1 and 2: a broker belongs to one cluster',
    );
    // The setting as printed keeps its clusters and hides the password.
    expect(message).toContain('AMQP_URL=amqp://u:***@a:5672,amqp://b:1;amqp://a:');
  });

  it('never prints a password of a refused URL', () => {
    const message = problem({ AMQP_URL: 'amqp://u:p@a:1,http://user:secret@b:2' });
    expect(message).toContain('http://user:***@b:2');
    expect(message).not.toContain('secret');
  });
});
