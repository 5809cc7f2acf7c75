import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { allowedOrigins, loadConfig, serviceLogger, runService } from '@roomcast/config';
import { probeRedis } from '@roomcast/store';
import { ApiEnv } from './config/api.env';
import { openApiDocument, OPENAPI_PATH } from './openapi/document';
import { securityHeaders } from './security-headers';
import { ServerApiBodyErrors } from './server-api/body-errors.filter';
import { ApiModule } from './api.module';

runService('api', async () => {
  const config = loadConfig(ApiEnv);
  await probeRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER });
  // No broker probe: only the publish API needs it, and it answers 503 until the broker does
  // (BrokerLink), while the Stats API and /admin serve.
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(config), {
    logger: serviceLogger(config.LOG_LEVEL),
    // Throw start-up errors to runService, which prints one line, instead of exiting here.
    abortOnError: false,
  });
  // No framework banner; no MIME sniffing and no framing of any answer (the operations page is
  // the one HTML page, and its CSP also says frame-ancestors 'none').
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.useGlobalPipes(
    new ValidationPipe({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      stopAtFirstError: true,
    }),
  );
  // A server API body that is not JSON: the contract's INVALID_PAYLOAD, not Nest's shape.
  app.useGlobalFilters(new ServerApiBodyErrors(app.getHttpAdapter()));
  app.enableCors({ origin: allowedOrigins(config) ?? true });
  // One OpenAPI document of every route: a page at /api/docs, the JSON at /api/docs-json.
  SwaggerModule.setup(OPENAPI_PATH, app, openApiDocument(app));
  app.enableShutdownHooks();
  await app.listen(config.PORT, '0.0.0.0');
  process.stdout.write(`[api] ${config.INSTANCE_ID} listening on :${config.PORT}\n`);
});
