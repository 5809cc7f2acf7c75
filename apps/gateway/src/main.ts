import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { NestFactory } from '@nestjs/core';
import { AmqpTopicServer, probeBroker } from '@roomcast/amqp-transport';
import { instanceRoutingKey } from '@roomcast/contracts';
import { allowedOrigins, ConfigError, loadConfig, logLevels, runService } from '@roomcast/config';
import { probeRedis } from '@roomcast/presence-store';
import { GatewayEnv, unsafeConfig } from './config/gateway.env';
import { GatewayIoAdapter } from './io.adapter';
import { GatewayModule } from './gateway.module';

runService('gateway', async () => {
  const config = loadConfig(GatewayEnv);
  const unsafe = unsafeConfig(config);
  if (unsafe) throw new ConfigError([unsafe]);
  await probeRedis(config.REDIS_URL);
  await probeBroker({ urls: [config.AMQP_URL], exchange: config.EXCHANGE });
  // A server-named exclusive queue: it lives and dies with this instance, and room bindings
  // are added to it only while the room has local members.
  const server = new AmqpTopicServer({
    urls: [config.AMQP_URL],
    exchange: config.EXCHANGE,
    queue: '',
    noAck: true,
    bindings: [instanceRoutingKey(config.INSTANCE_ID)],
  });
  const app = await NestFactory.create<NestExpressApplication>(
    GatewayModule.forRoot(config, server),
    {
      logger: logLevels(config.LOG_LEVEL),
      // Throw start-up errors to runService, which prints one line, instead of exiting here.
      abortOnError: false,
    },
  );
  app.useWebSocketAdapter(new GatewayIoAdapter(app, config));
  const origins = allowedOrigins(config);
  app.enableCors({ origin: origins ?? true });
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  // The web client (built into dist/web) at `/`, when it has been built.
  const web = resolve(__dirname, '../../../web');
  if (existsSync(web)) app.useStaticAssets(web);
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.PORT, '0.0.0.0');
  process.stdout.write(`[gateway] ${config.INSTANCE_ID} listening on :${config.PORT}\n`);
});
