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
  }, 40000);
});
