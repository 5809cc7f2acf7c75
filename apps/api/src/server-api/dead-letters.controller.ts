import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Logger,
  Post,
  Query,
  ServiceUnavailableException,
  UseGuards,
  type OnModuleDestroy,
} from '@nestjs/common';
import { openConnection } from '@roomcast/amqp-transport';
import { listDeadLetters, replayDeadLetters, type DeadLetter } from '@roomcast/delivery';
import { amqpUrls } from '@roomcast/config';
import { ErrorCode } from '@roomcast/contracts';
import { ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ChannelModel } from 'amqplib';
import { API_CONFIG, type ApiEnv } from '../config/api.env';
import { ApiTokenGuard } from './api-token.guard';
import { ApiInvalidPayload, ApiServerToken, ApiUnavailable } from '../openapi/error-bodies';
import { DeadLetterListDto, ReplayResultDto } from './server-api.responses';

const MAX_LIMIT = 1000;

/**
 * The webhook dead-letter queue for operators (PROTOCOL.md, "Server API and webhooks"): events
 * whose attempts ran out, and events pushed out of a full backlog, listed oldest first and sent
 * back to the URL queue each came from. Here rather than in a script: the server API already has
 * the token, the broker settings and the error contract an operator's tooling expects.
 *
 * The broker connection is opened at the first request, so the rest of stats never waits for a
 * broker; while it is unreachable these routes answer 503 UNAVAILABLE.
 */
@Controller('api/webhooks/dead-letters')
@UseGuards(ApiTokenGuard)
@ApiTags('server API')
@ApiServerToken()
@ApiInvalidPayload()
@ApiUnavailable('UNAVAILABLE: the broker is not answering; retry later')
export class DeadLettersController implements OnModuleDestroy {
  private readonly logger = new Logger(DeadLettersController.name);
  private connection?: Promise<AmqpConnectionManager>;

  constructor(@Inject(API_CONFIG) private readonly config: ApiEnv) {}

  @Get()
  @ApiOperation({ summary: 'The oldest webhook dead letters (left in the queue)' })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 50 },
  })
  @ApiOkResponse({ type: DeadLetterListDto })
  async list(
    @Query('limit') limit?: string,
  ): Promise<{ total: number; deadLetters: DeadLetter[] }> {
    const n = parseLimit(limit, 50);
    return this.withBroker((c) => listDeadLetters(c, this.config.WEBHOOK_QUEUE, n));
  }

  @Post('replay')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Send dead letters back to their URL queues: the oldest `limit` (default 100), or of those the ones whose event id is in `ids`',
  })
  @ApiBody({
    required: false,
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ids: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_LIMIT,
          items: { type: 'string', minLength: 1, maxLength: 64 },
        },
        limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 },
      },
    },
  })
  @ApiOkResponse({ type: ReplayResultDto })
  async replay(
    @Body() body: unknown,
  ): Promise<{ replayed: string[]; kept: number; remaining: number }> {
    const { ids, limit } = parseReplay(body);
    return this.withBroker((c) =>
      replayDeadLetters(c, this.config.WEBHOOK_QUEUE, { limit, ...(ids ? { ids } : {}) }),
    );
  }

  async onModuleDestroy(): Promise<void> {
    const manager = await this.connection?.catch(() => undefined);
    await manager?.close().catch(() => undefined);
  }

  private async withBroker<T>(work: (connection: ChannelModel) => Promise<T>): Promise<T> {
    try {
      this.connection ??= openConnection({
        urls: amqpUrls(this.config.AMQP_URL),
        exchange: this.config.EXCHANGE,
        name: `${this.config.INSTANCE_ID}/dead-letters`,
        connectTimeoutMs: 3000,
      });
      const current = (await this.connection).connection;
      if (!current) throw new Error('not connected');
      return await work(current);
    } catch (err) {
      // A failed first connect is tried again at the next request.
      if (this.connection && !(await this.connection.then(() => true).catch(() => false)))
        this.connection = undefined;
      this.logger.warn(`dead letters: ${(err as Error).message}`);
      throw new ServiceUnavailableException({
        error: { code: ErrorCode.Unavailable, message: 'the broker is not answering; retry later' },
      });
    }
  }
}

function invalid(message: string): BadRequestException {
  return new BadRequestException({ error: { code: ErrorCode.InvalidPayload, message } });
}

function parseLimit(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n =
    typeof value === 'number' ? value : /^\d{1,4}$/.test(String(value)) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT)
    throw invalid(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  return n;
}

function parseReplay(body: unknown): { ids?: string[]; limit: number } {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) throw invalid('the body must be a JSON object');
  const extra = Object.keys(b).filter((k) => k !== 'ids' && k !== 'limit');
  if (extra.length) throw invalid(`unknown field ${JSON.stringify(extra[0])}`);
  const limit = parseLimit(b.limit, 100);
  if (b.ids === undefined) return { limit };
  if (
    !Array.isArray(b.ids) ||
    b.ids.length === 0 ||
    b.ids.length > MAX_LIMIT ||
    !b.ids.every((id) => typeof id === 'string' && id.length > 0 && id.length <= 64)
  )
    throw invalid(`ids must be 1 to ${MAX_LIMIT} event ids (strings of 1-64 characters)`);
  return { ids: b.ids as string[], limit };
}
