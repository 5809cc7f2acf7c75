import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AmqpTopicServer, probeBroker, QueueTypeMismatchError } from '@roomcast/amqp-transport';
import { ALL_PRESENCE_PATTERN } from '@roomcast/contracts';
import {
  amqpClusters,
  clusterSuffix,
  loadConfig,
  serviceLogger,
  runService,
  StartupError,
} from '@roomcast/config';
import { probeRedis } from '@roomcast/store';
import { PresenceEnv } from './config/presence.env';
import { PresenceModule } from './presence.module';

runService('presence', async () => {
  const config = loadConfig(PresenceEnv);
  await probeRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER });
  const clusters = amqpClusters(config.AMQP_URL);
  for (const urls of clusters) await probeBroker({ urls, exchange: config.EXCHANGE });
  const app = await NestFactory.create(PresenceModule.forRoot(config), {
    logger: serviceLogger(config.LOG_LEVEL),
    // Throw start-up errors to runService, which prints one line, instead of exiting here.
    abortOnError: false,
  });
  // The presence queue on every broker cluster of AMQP_URL (one in most deployments): gateways
  // send each socket's changes to one cluster (the socket's), any cluster's come here.
  for (const [i, urls] of clusters.entries()) {
    app.connectMicroservice(
      {
        strategy: new AmqpTopicServer({
          urls,
          name: `${config.INSTANCE_ID}/consume${clusterSuffix(config.AMQP_URL, i)}`,
          exchange: config.EXCHANGE,
          queue: config.PRESENCE_QUEUE,
          // Replicated over the broker cluster's nodes, so presence events survive a node's loss.
          queueType: 'quorum',
          bindings: [ALL_PRESENCE_PATTERN],
          // Requests are applied side by side: a gateway sends a socket's next change only once
          // its last one is answered, so one socket's changes never overlap.
          prefetch: config.PRESENCE_PREFETCH,
        }),
      },
      { inheritAppConfig: true },
    );
  }
  app.enableShutdownHooks();
  await app.startAllMicroservices().catch((err: unknown) => {
    if (err instanceof QueueTypeMismatchError) {
      throw new StartupError(
        `PRESENCE_QUEUE ${err.queue} is a classic queue that ${err.consumers} consumer(s) ` +
          '(presence replicas of an earlier version) still read; this version needs a quorum ' +
          'queue: stop every earlier presence replica, then start this one (it replaces the ' +
          'unused queue), or set PRESENCE_QUEUE to a new name',
        err,
      );
    }
    throw err;
  });
  await app.listen(config.PORT, '0.0.0.0');
  process.stdout.write(`[presence] ${config.INSTANCE_ID} listening on :${config.PORT}\n`);
});
