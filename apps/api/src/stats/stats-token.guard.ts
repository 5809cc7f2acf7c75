import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { TokenGuard } from '../auth/credentials';
import { SignInThrottle } from '../auth/sign-in-throttle';
import { API_CONFIG, type ApiEnv } from '../config/api.env';
import { ApiStatsToken } from '../openapi/error-bodies';

/**
 * The Stats API, /metrics and /ready: with STATS_TOKEN set they need `Authorization: Bearer
 * <STATS_TOKEN>`; unset, they are open (and private rooms are left out of the answers).
 */
@Injectable()
export class StatsTokenGuard extends TokenGuard {
  /** What it does to a route, in the OpenAPI document (opsController's guarded routes use it). */
  static readonly openApi = ApiStatsToken;

  constructor(@Inject(API_CONFIG) config: ApiEnv, throttle: SignInThrottle) {
    super(config.STATS_TOKEN || undefined, throttle);
  }

  protected refuse(): never {
    throw new UnauthorizedException('this API needs Authorization: Bearer <STATS_TOKEN>');
  }
}
