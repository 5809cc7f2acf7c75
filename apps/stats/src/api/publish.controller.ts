import { randomUUID } from 'node:crypto';
import {
  BadRequestException,
  Body,
  Controller,
  Headers,
  HttpCode,
  Inject,
  Logger,
  Param,
  Post,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import {
  ChatError,
  ErrorCode,
  isValidRoomName,
  PublishMessageDto,
  validatePayload,
  type SendResult,
} from '@roomcast/contracts';
import { RoomWriter, WriteUnavailable } from '@roomcast/presence-store';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiResponse,
} from '@nestjs/swagger';
import { STATS_CONFIG, type StatsEnv } from '../config/stats.env';
import { ApiTokenGuard } from './api-token.guard';

/**
 * The server publish API (PROTOCOL.md, "Server API and webhooks"): an application backend posts
 * a message into a room as one of its users. It goes through RoomWriter, the path of a socket's
 * `message:send` (seq, history, publish, the same clientId retries), and is answered 201 only
 * once it is accepted for good.
 */
@Controller('api')
@UseGuards(ApiTokenGuard)
export class PublishController {
  private readonly logger = new Logger(PublishController.name);

  constructor(
    private readonly writer: RoomWriter,
    @Inject(STATS_CONFIG) private readonly config: StatsEnv,
  ) {}

  @Post('rooms/:room/messages')
  @HttpCode(201)
  @ApiBearerAuth()
  @ApiOperation({ summary: "Publish a message into a room, as a socket's message:send" })
  @ApiParam({ name: 'room', description: 'matches ^[A-Za-z0-9_-]{1,64}$ (private rooms allowed)' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'acts as clientId (1-64 characters)',
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['text', 'user'],
      additionalProperties: false,
      properties: {
        text: { type: 'string', description: '1-4000 characters after trimming' },
        user: {
          type: 'object',
          required: ['id', 'name'],
          properties: { id: { type: 'string' }, name: { type: 'string', maxLength: 32 } },
        },
        clientId: { type: 'string', maxLength: 64 },
      },
    },
  })
  @ApiResponse({
    status: 201,
    description: 'accepted for good (in history, confirmed by the broker)',
    schema: {
      type: 'object',
      properties: { id: { type: 'string' }, seq: { type: 'integer' }, ts: { type: 'integer' } },
    },
  })
  @ApiResponse({ status: 400, description: '{ error: { code: "INVALID_PAYLOAD", message } }' })
  @ApiResponse({ status: 401, description: 'no or wrong API_TOKEN' })
  @ApiResponse({ status: 503, description: '{ error: { code: "UNAVAILABLE", message } }' })
  async publish(
    @Param('room') room: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<SendResult> {
    if (!isValidRoomName(room)) {
      throw new BadRequestException({
        error: { code: ErrorCode.InvalidPayload, message: 'room must match ^[A-Za-z0-9_-]{1,64}$' },
      });
    }
    let dto: PublishMessageDto;
    try {
      const payload =
        idempotencyKey !== undefined && typeof body === 'object' && body !== null
          ? { ...body, clientId: idempotencyKey }
          : body;
      dto = validatePayload(PublishMessageDto, payload);
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      throw new BadRequestException({ error: { code: err.code, message: err.message } });
    }
    try {
      const { ack } = await this.writer.accept({
        id: randomUUID(),
        room,
        text: dto.text,
        user: { id: dto.user.id, name: dto.user.name },
        ts: Date.now(),
        serverId: this.config.INSTANCE_ID,
        ...(dto.clientId !== undefined ? { clientId: dto.clientId } : {}),
      });
      return ack;
    } catch (err) {
      if (!(err instanceof WriteUnavailable)) throw err;
      this.logger.warn(`publish into ${room}: ${err.message}`);
      throw new ServiceUnavailableException({
        error: {
          code: ErrorCode.Unavailable,
          message: `${err.dependency} is not answering; retry later`,
        },
      });
    }
  }
}
