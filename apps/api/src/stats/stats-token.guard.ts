import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { digest, signIn } from '../auth/credentials';
import { SignInThrottle } from '../auth/sign-in-throttle';
import { API_CONFIG, type ApiEnv } from '../config/api.env';

/**
 * The Stats API, /metrics and /ready: with STATS_TOKEN set they need `Authorization: Bearer
 * <STATS_TOKEN>`; unset, they are open (and private rooms are left out of the answers).
 */
@Injectable()
export class StatsTokenGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(
    @Inject(API_CONFIG) config: ApiEnv,
    private readonly throttle: SignInThrottle,
  ) {
    if (config.STATS_TOKEN) this.expected = digest(config.STATS_TOKEN);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<IncomingMessage>();
    if (signIn(req, http.getResponse<ServerResponse>(), this.expected, this.throttle)) return true;
    throw new UnauthorizedException('this API needs Authorization: Bearer <STATS_TOKEN>');
  }
}
