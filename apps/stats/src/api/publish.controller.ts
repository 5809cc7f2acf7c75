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
