import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { basicPassword, bearerToken, TokenGuard } from '../auth/credentials';
import { SignInThrottle } from '../auth/sign-in-throttle';
import { API_CONFIG, type ApiEnv } from '../config/api.env';

/**
 * The operations page (/admin): with STATS_TOKEN set, a Bearer token or Basic credentials with
 * STATS_TOKEN as the password (any user name); without them, 401 with a Basic challenge, so a
 * browser asks for it.
 */
@Injectable()
export class OpsPageGuard extends TokenGuard {
  constructor(@Inject(API_CONFIG) config: ApiEnv, throttle: SignInThrottle) {
    super(config.STATS_TOKEN || undefined, throttle);
  }

  protected override read(header: string): string | undefined {
    return bearerToken(header) ?? basicPassword(header);
  }

  protected refuse(res: ServerResponse): never {
    res.setHeader('WWW-Authenticate', 'Basic realm="roomcast admin", charset="UTF-8"');
    throw new UnauthorizedException('the operations page needs STATS_TOKEN as the password');
  }
}
