import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AmqpTopicServer, probeBroker } from '@roomcast/amqp-transport';
import { ALL_PRESENCE_PATTERN } from '@roomcast/contracts';
import { loadConfig, logLevels, runService } from '@roomcast/config';
import { probeRedis } from '@roomcast/presence-store';
import { PresenceEnv } from './config/presence.env';
import { PresenceModule } from './presence.module';

runService('presence', async () => {
  const config = loadConfig(PresenceEnv);
  await probeRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER });
  await probeBroker({ urls: [config.AMQP_URL], exchange: config.EXCHANGE });
  const app = await NestFactory.create(PresenceModule.forRoot(config), {
    logger: logLevels(config.LOG_LEVEL),
    // Throw start-up errors to runService, which prints one line, instead of exiting here.
    abortOnError: false,
  });
  app.connectMicroservice(
    {
      strategy: new AmqpTopicServer({
        urls: [config.AMQP_URL],
        exchange: config.EXCHANGE,
        queue: config.PRESENCE_QUEUE,
        durable: true,
        bindings: [ALL_PRESENCE_PATTERN],
        // Requests are applied side by side: a gateway sends a socket's next change only once
        // its last one is answered, so one socket's changes never overlap.
        prefetch: config.PRESENCE_PREFETCH,
      }),
    },
    { inheritAppConfig: true },
  );
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.PORT, '0.0.0.0');
  process.stdout.write(`[presence] ${config.INSTANCE_ID} listening on :${config.PORT}\n`);
});
