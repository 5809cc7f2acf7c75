import { BadRequestException, Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { ErrorCode } from '@roomcast/contracts';

/**
 * A server API request (`/api/...`) whose body is not JSON gets the contract's 400,
 * `{ error: { code: "INVALID_PAYLOAD", message } }` (PROTOCOL.md), like any other bad input
 * there: the body parser fails before the route runs, and Nest would answer in its own shape.
 * Everything else goes on as Nest answers it.
 */
@Catch(BadRequestException)
export class ServerApiBodyErrors extends BaseExceptionFilter {
  override catch(exception: BadRequestException, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<{ path: string }>();
    if (exception.cause instanceof SyntaxError && req.path.startsWith('/api/')) {
      host
        .switchToHttp()
        .getResponse<{ status(code: number): { json(body: unknown): void } }>()
        .status(400)
        .json({ error: { code: ErrorCode.InvalidPayload, message: 'the body must be JSON' } });
      return;
    }
    super.catch(exception, host);
  }
}
