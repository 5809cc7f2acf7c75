import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { AmqpTopicServer, probeBroker } from '@roomcast/amqp-transport';
import { instanceRoutingKey } from '@roomcast/contracts';
import { loadConfig, logLevels, runService } from '@roomcast/config';
import { probeRedis } from '@roomcast/presence-store';
import { GatewayEnv } from './config/gateway.env';
import { GatewayModule } from './gateway.module';

runService('gateway', async () => {
  const config = loadConfig(GatewayEnv);
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
  const app = await NestFactory.create(GatewayModule.forRoot(config, server), {
    logger: logLevels(config.LOG_LEVEL),
    // Throw start-up errors to runService, which prints one line, instead of exiting here.
    abortOnError: false,
  });
  app.useWebSocketAdapter(new IoAdapter(app));
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.PORT, '0.0.0.0');
  process.stdout.write(`[gateway] ${config.INSTANCE_ID} listening on :${config.PORT}\n`);
});
