import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { ErrorCode } from '@roomcast/contracts';
import { STATS_CONFIG, type StatsEnv } from '../config/stats.env';
import { SignInThrottle } from '../sign-in-throttle';
import { BEARER, digest } from '../stats-token.guard';

/** The publish API needs `Authorization: Bearer <API_TOKEN>` (compared as SHA-256 digests). */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(
    @Inject(STATS_CONFIG) config: StatsEnv,
    private readonly throttle: SignInThrottle,
  ) {
    this.expected = digest(config.API_TOKEN ?? '');
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    const header = req.headers.authorization ?? '';
    // Failed tokens count per address, as STATS_TOKEN's do (SignInThrottle).
    const address = header === '' ? undefined : this.throttle.addressOf(req);
    if (address !== undefined)
      this.throttle.check(address, context.switchToHttp().getResponse<ServerResponse>());
    const given = BEARER.exec(header)?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), this.expected)) return true;
    if (address !== undefined) this.throttle.failed(address);
    throw new UnauthorizedException({
      error: {
        code: ErrorCode.Forbidden,
        message: 'this API needs Authorization: Bearer <API_TOKEN>',
      },
    });
  }
}
