import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basicPassword, bearerToken, digest, signIn } from '../auth/credentials';
import { SignInThrottle } from '../auth/sign-in-throttle';
import { API_CONFIG, type ApiEnv } from '../config/api.env';

/**
 * The operations page (/admin): with STATS_TOKEN set, a Bearer token or Basic credentials with
 * STATS_TOKEN as the password (any user name); without them, 401 with a Basic challenge, so a
 * browser asks for it.
 */
@Injectable()
export class OpsPageGuard implements CanActivate {
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
    const res = http.getResponse<ServerResponse>();
    const read = (header: string) => bearerToken(header) ?? basicPassword(header);
    if (signIn(http.getRequest<IncomingMessage>(), res, this.expected, this.throttle, read))
      return true;
    res.setHeader('WWW-Authenticate', 'Basic realm="roomcast admin", charset="UTF-8"');
    throw new UnauthorizedException('the operations page needs STATS_TOKEN as the password');
  }
}
