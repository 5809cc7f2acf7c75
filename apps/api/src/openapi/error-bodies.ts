import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiSecurity,
  getSchemaPath,
} from '@nestjs/swagger';
import { ErrorCode } from '@roomcast/contracts';

/** The security scheme of the server API's token (`Authorization: Bearer <API_TOKEN>`). */
export const API_TOKEN_SCHEME = 'API_TOKEN';
/** The security scheme of the Stats API's token, required only when STATS_TOKEN is set. */
export const STATS_TOKEN_SCHEME = 'STATS_TOKEN';

export class ContractError {
  @ApiProperty({ enum: Object.values(ErrorCode) })
  code: ErrorCode;

  @ApiProperty()
  message: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'the earliest useful retry' })
  retryAfterMs?: number;
}

/** The contract's error answer (PROTOCOL.md): `{ error: { code, message, retryAfterMs? } }`. */
export class ContractErrorBody {
  @ApiProperty({ type: () => ContractError })
  error: ContractError;
}

/**
 * Nest's answer to an HttpException thrown with a message (the Stats API's and the operations
 * routes' refusals, and a validation failure of a query, whose `message` lists the mistakes).
 */
export class HttpErrorBody {
  @ApiProperty({ type: 'integer' })
  statusCode: number;

  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] })
  message: string | string[];

  @ApiProperty({ description: "the status's reason phrase" })
  error: string;
}

/** The sign-in throttle's answer, on every route behind a token (SignInThrottle). */
const tooManySignIns = ApiResponse({
  status: 429,
  description:
    'RATE_LIMITED: too many failed sign-ins from this address (SIGNIN_MAX_FAILURES); Retry-After says when to retry',
  type: ContractErrorBody,
});

/**
 * The server API's token on every route of a controller: the API_TOKEN scheme, 401 without it
 * (ApiTokenGuard) and 429 past the sign-in throttle.
 */
export const ApiServerToken = () =>
  applyDecorators(
    ApiSecurity(API_TOKEN_SCHEME),
    ApiResponse({
      status: 401,
      description: 'FORBIDDEN: no or wrong Authorization: Bearer <API_TOKEN>',
      type: ContractErrorBody,
    }),
    tooManySignIns,
  );

/**
 * STATS_TOKEN on a route (StatsTokenGuard): required only when set, so the security requirement
 * is optional (`{}`); 401 without it, 429 past the sign-in throttle.
 */
export const ApiStatsToken = () =>
  applyDecorators(
    ApiSecurity(STATS_TOKEN_SCHEME),
    ApiSecurity({}),
    ApiResponse({
      status: 401,
      description: 'STATS_TOKEN is set and the request does not carry it',
      type: HttpErrorBody,
    }),
    tooManySignIns,
  );

/**
 * A 400 of the server API: `INVALID_PAYLOAD` and what is wrong; a body that is not JSON at all is
 * refused by the body parser, before the route, with Nest's error body.
 */
export const ApiInvalidPayload = (
  description = "INVALID_PAYLOAD: what is wrong with the request (a body that does not parse as JSON: Nest's error body)",
) =>
  applyDecorators(
    ApiExtraModels(ContractErrorBody, HttpErrorBody),
    ApiResponse({
      status: 400,
      description,
      schema: {
        oneOf: [{ $ref: getSchemaPath(ContractErrorBody) }, { $ref: getSchemaPath(HttpErrorBody) }],
      },
    }),
  );

/** A 503 of the server API: a dependency (Redis, the broker) is not answering; retry later. */
export const ApiUnavailable = (
  description = 'UNAVAILABLE: Redis or the broker is not answering; retry later',
) => ApiResponse({ status: 503, description, type: ContractErrorBody });
