import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { ErrorCode } from '@roomcast/contracts';
import { TokenGuard } from '../auth/credentials';
import { SignInThrottle } from '../auth/sign-in-throttle';
import { API_CONFIG, type ApiEnv } from '../config/api.env';

/**
 * The server API needs `Authorization: Bearer <API_TOKEN>` (its routes exist only with API_TOKEN
 * set).
 */
@Injectable()
export class ApiTokenGuard extends TokenGuard {
  constructor(@Inject(API_CONFIG) config: ApiEnv, throttle: SignInThrottle) {
    super(config.API_TOKEN ?? '', throttle);
  }

  protected refuse(): never {
    throw new UnauthorizedException({
      error: {
        code: ErrorCode.Forbidden,
        message: 'this API needs Authorization: Bearer <API_TOKEN>',
      },
    });
  }
}
