import {
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
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DependencyMetrics, type ReadinessCheck } from './dependency-metrics';

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

/**
 * GET /metrics, /health and /ready, with `guards` on /metrics and /ready (/health stays open, for
 * load balancers). Declare it in the app module, beside a READINESS_CHECKS provider.
 */
export function opsController(...guards: Type<CanActivate>[]): Type<unknown> {
  @Controller()
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
    @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
    metrics(): Promise<string> {
      return this.registry.metrics();
    }

    /** 200 while the process lives. */
    @Get('health')
    health() {
      return { status: 'ok' };
    }

    /** 200 when every dependency answers, else 503 naming the ones that do not. */
    @Get('ready')
    @UseGuards(...guards)
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
