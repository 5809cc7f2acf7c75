import { runToExit } from '@roomcast/testing';
import { chatSuite } from '../suites/chat.suite';
import { STANDALONE } from '../suites/deployment';

chatSuite(STANDALONE, ({ cluster }) => {
  it('exits non-zero naming the URL when Redis or RabbitMQ is down', async () => {
    const { env } = cluster();
    const noRedis = await runToExit('gateway', {
      ...env,
      PORT: '0',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    expect(noRedis.code).toBe(1);
    expect(noRedis.output).toContain('cannot reach Redis at redis://127.0.0.1:1');
    expect(noRedis.output).toContain('redis-server');
    const noBroker = await runToExit('presence', {
      ...env,
      PORT: '0',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
    });
    expect(noBroker.code).toBe(1);
    expect(noBroker.output).toContain('cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1');
    expect(noBroker.output.split('\n').filter(Boolean).length).toBeLessThanOrEqual(3);
    // A cluster's nodes, none answering: one line naming each URL and what it answered.
    const noCluster = await runToExit('gateway', {
      ...env,
      PORT: '0',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:1,amqp://u:secret@127.0.0.1:2',
    });
    expect(noCluster.code).toBe(1);
    const lines = noCluster.output.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\[gateway\] cannot reach RabbitMQ at any of 2 URLs \(amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1; amqp:\/\/u:\*\*\*@127\.0\.0\.1:2: connect ECONNREFUSED 127\.0\.0\.1:2\); start it with/,
    );
    // A list with a bad URL is a config error, before anything is tried.
    const badList = await runToExit('presence', {
      ...env,
      PORT: '0',
      AMQP_URL: `${env.AMQP_URL},rabbit.example.com:5672`,
    });
    expect(badList.code).toBe(1);
    expect(badList.output).toContain('(not: rabbit.example.com:5672)');
  }, 40000);
});
