import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { NestFactory } from '@nestjs/core';
import { AmqpTopicServer, probeBroker, QueueInUseError } from '@roomcast/amqp-transport';
import { gatewayQueueName, gatewayRoutingKey } from '@roomcast/contracts';
import {
  allowedOrigins,
  amqpClusters,
  clusterSuffix,
  ConfigError,
  loadConfig,
  serviceLogger,
  runService,
  StartupError,
} from '@roomcast/config';
import { probeRedis } from '@roomcast/store';
import { GatewayEnv, unsafeConfig } from './config/gateway.env';
import { GatewayIoAdapter } from './socket/io.adapter';
import { GatewayModule } from './gateway.module';

runService('gateway', async () => {
  const config = loadConfig(GatewayEnv);
  const unsafe = unsafeConfig(config);
  if (unsafe) throw new ConfigError([unsafe]);
  await probeRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER });
  const clusters = amqpClusters(config.AMQP_URL);
  for (const urls of clusters) await probeBroker({ urls, exchange: config.EXCHANGE });
  // An exclusive queue named by the instance: it lives and dies with this instance's broker
  // connection, so presence learns of a crash from the broker (the queue is gone) at once, and a
  // second process with the same INSTANCE_ID is refused instead of sharing it. Room bindings are
  // added to it only while the room has local members. With several broker clusters the instance
  // has that queue on each, and a room binds on its own cluster's (broker.providers.ts).
  const queue = gatewayQueueName(config.EXCHANGE, config.INSTANCE_ID);
  const servers = clusters.map(
    (urls, i) =>
      new AmqpTopicServer({
        urls,
        name: `${config.INSTANCE_ID}/consume${clusterSuffix(config.AMQP_URL, i)}`,
        exchange: config.EXCHANGE,
        queue,
        exclusive: true,
        noAck: true,
        // Its own key, for the server API's notices about its connections (moderation), which
        // come over any one cluster.
        bindings: [gatewayRoutingKey(config.INSTANCE_ID)],
      }),
  );
  const app = await NestFactory.create<NestExpressApplication>(
    GatewayModule.forRoot(config, servers),
    {
      logger: serviceLogger(config.LOG_LEVEL),
      // Throw start-up errors to runService, which prints one line, instead of exiting here.
      abortOnError: false,
    },
  );
  app.useWebSocketAdapter(new GatewayIoAdapter(app, config));
  const origins = allowedOrigins(config);
  app.enableCors({ origin: origins ?? true });
  for (const server of servers) {
    app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  }
  // The web client (built into dist/web) at `/`, when it has been built.
  const web = resolve(__dirname, '../../../web');
  if (existsSync(web)) app.useStaticAssets(web);
  app.enableShutdownHooks();
  // Order matters: the queue is declared here, and only `listen` below runs the bootstrap hooks
  // (the first heartbeat) and accepts sockets (connect events). So presence never learns of this
  // instance before its queue exists, and never takes a queue not yet declared for a dead gateway.
  await app.startAllMicroservices().catch((err: unknown) => {
    if (err instanceof QueueInUseError) {
      throw new StartupError(
        `INSTANCE_ID ${config.INSTANCE_ID} is already in use: ${err.message}; ` +
          'give every gateway its own INSTANCE_ID',
        err,
      );
    }
    throw err;
  });
  await app.listen(config.PORT, '0.0.0.0');
  process.stdout.write(`[gateway] ${config.INSTANCE_ID} listening on :${config.PORT}\n`);
});
