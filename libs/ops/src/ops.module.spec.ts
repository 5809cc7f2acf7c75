import { GUARDS_METADATA } from '@nestjs/common/constants';
import type { CanActivate } from '@nestjs/common';
import { OpsController, opsController } from './ops.module';

class DenyAll implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

const guardsOf = (controller: object, route: 'metrics' | 'ready' | 'health') =>
  Reflect.getMetadata(
    GUARDS_METADATA,
    (controller as { prototype: Record<string, object> }).prototype[route],
  ) as unknown[];

describe('opsController', () => {
  it('puts the guards on /metrics and /ready and leaves /health open for load balancers', () => {
    const guarded = opsController(DenyAll);
    expect(guardsOf(guarded, 'metrics')).toEqual([DenyAll]);
    expect(guardsOf(guarded, 'ready')).toEqual([DenyAll]);
    expect(guardsOf(guarded, 'health') ?? []).toEqual([]);
  });

  it('has no guard at all without guards (gateway, presence)', () => {
    for (const route of ['metrics', 'ready', 'health'] as const)
      expect(guardsOf(OpsController, route) ?? []).toEqual([]);
  });
});
