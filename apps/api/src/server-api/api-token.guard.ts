import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { ErrorCode } from '@roomcast/contracts';
import { digest, signIn } from '../auth/credentials';
import { SignInThrottle } from '../auth/sign-in-throttle';
import { API_CONFIG, type ApiEnv } from '../config/api.env';

/** The server API needs `Authorization: Bearer <API_TOKEN>` (compared as SHA-256 digests). */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(
    @Inject(API_CONFIG) config: ApiEnv,
    private readonly throttle: SignInThrottle,
  ) {
    this.expected = digest(config.API_TOKEN ?? '');
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<IncomingMessage>();
    if (signIn(req, http.getResponse<ServerResponse>(), this.expected, this.throttle)) return true;
    throw new UnauthorizedException({
      error: {
        code: ErrorCode.Forbidden,
        message: 'this API needs Authorization: Bearer <API_TOKEN>',
      },
    });
  }
}
