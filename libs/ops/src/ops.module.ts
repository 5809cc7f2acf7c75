import {
  applyDecorators,
  Controller,
  Get,
  Header,
  Inject,
  Module,
  ServiceUnavailableException,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type Type,
} from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DependencyMetrics, type ReadinessCheck } from './dependency-metrics';

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

/**
 * A guard may describe, for the OpenAPI document, what it does to the routes it guards (its
 * security scheme, its refusals) as a static `openApi` decorator; the guarded routes carry it.
 */
type DescribedGuard = Type<CanActivate> & { openApi?: () => MethodDecorator };
const guardDocs = (guards: DescribedGuard[]) =>
  applyDecorators(...guards.flatMap((g) => (g.openApi ? [g.openApi()] : [])));

/** `{ status }`: what /health and /ready answer. */
const statusSchema = (status: string) => ({
  type: 'object' as const,
  required: ['status'],
  properties: { status: { type: 'string' as const, enum: [status] } },
});

/**
 * GET /metrics, /health and /ready, with `guards` on /metrics and /ready (/health stays open, for
 * load balancers). Declare it in the app module, beside a READINESS_CHECKS provider.
 */
export function opsController(...guards: DescribedGuard[]): Type<unknown> {
  @Controller()
  @ApiTags('operations')
  class OpsRoutes {
    private readonly dependencies: DependencyMetrics;

    constructor(
      @Inject(Registry) private readonly registry: Registry,
      @Inject(READINESS_CHECKS) checks: ReadinessCheck[],
    ) {
      this.dependencies = new DependencyMetrics(registry, checks);
    }

    @Get('metrics')
    @UseGuards(...guards)
    @ApiOperation({ summary: "The process's metrics, in Prometheus's text format" })
    @ApiOkResponse({
      description: 'Prometheus text exposition format 0.0.4',
      content: { 'text/plain': { schema: { type: 'string' } } },
    })
    @guardDocs(guards)
    @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
    metrics(): Promise<string> {
      return this.registry.metrics();
    }

    /** 200 while the process lives. */
    @Get('health')
    @ApiOperation({
      summary: 'Liveness: 200 while the process lives (no token, for load balancers)',
    })
    @ApiOkResponse({ schema: statusSchema('ok') })
    health() {
      return { status: 'ok' };
    }

    /** 200 when every dependency answers, else 503 naming the ones that do not. */
    @Get('ready')
    @UseGuards(...guards)
    @ApiOperation({ summary: 'Readiness: 200 when every dependency answers' })
    @ApiOkResponse({ schema: statusSchema('ready') })
    @ApiServiceUnavailableResponse({
      description: "`message` names the dependencies that do not answer (Nest's error body)",
      schema: {
        type: 'object',
        required: ['statusCode', 'message', 'error'],
        properties: {
          statusCode: { type: 'integer', enum: [503] },
          message: { type: 'string' },
          error: { type: 'string' },
        },
      },
    })
    @guardDocs(guards)
    async ready() {
      const results = await this.dependencies.run();
      const down = results.filter((r) => !r.ok).map((r) => r.name);
      if (down.length > 0)
        throw new ServiceUnavailableException(`not ready: ${down.join(', ')} down`);
      return { status: 'ready' };
    }
  }
  return OpsRoutes;
}

/** The operations endpoints with no guard (the gateway and presence). */
export const OpsController = opsController();

/**
 * Per-process operations endpoints: GET /metrics (a Prometheus registry with default process
 * metrics) for OpsController's GET /metrics, GET /health and GET /ready.
 */
@Module({})
export class OpsModule {
  static forRoot(labels: { service: string; instance: string }): DynamicModule {
    const registry = new Registry();
    registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: registry });
    return {
      module: OpsModule,
      global: true,
      providers: [{ provide: Registry, useValue: registry }],
      exports: [Registry],
    };
  }
}
