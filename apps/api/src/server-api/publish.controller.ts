import { randomUUID } from 'node:crypto';
import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Headers,
  NotFoundException,
  HttpCode,
  Inject,
  Logger,
  Param,
  Post,
  ServiceUnavailableException,
  UnprocessableEntityException,
  UseGuards,
} from '@nestjs/common';
import {
  ChatError,
  DeleteMessageDto,
  ErrorCode,
  isValidRoomName,
  ModeratorDeleteDto,
  PublishMessageDto,
  validatePayload,
  type SendResult,
  type UpdateResult,
} from '@roomcast/contracts';
import { ClientIdConflict } from '@roomcast/store';
import { RoomWriter, WriteUnavailable } from '@roomcast/delivery';
import { ApiBody, ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { API_CONFIG, type ApiEnv } from '../config/api.env';
import {
  ApiInvalidPayload,
  ApiServerToken,
  ApiUnavailable,
  ContractErrorBody,
} from '../openapi/error-bodies';
import { SendResultDto, UpdateResultDto } from './server-api.responses';
import { ApiTokenGuard } from './api-token.guard';
import { BrokerLink } from '../broker/broker-link';

/**
 * A request body validated as `dto` (its Idempotency-Key header, if any, as `clientId`), or 400
 * with the contract's error code.
 */
function bodyOf<T extends object>(dto: new () => T, body: unknown, idempotencyKey?: string): T {
  try {
    const payload =
      idempotencyKey !== undefined && typeof body === 'object' && body !== null
        ? { ...body, clientId: idempotencyKey }
        : body;
    return validatePayload(dto, payload);
  } catch (err) {
    if (!(err instanceof ChatError)) throw err;
    throw new BadRequestException({ error: { code: err.code, message: err.message } });
  }
}

/**
 * The server publish API (PROTOCOL.md, "Server API and webhooks"): an application backend posts
 * a message into a room as one of its users. It goes through RoomWriter, the path of a socket's
 * `message:send` (seq, history, publish, the same clientId retries), and is answered 201 only
 * once it is accepted for good.
 */
@Controller('api')
@UseGuards(ApiTokenGuard)
@ApiTags('server API')
@ApiServerToken()
export class PublishController {
  private readonly logger = new Logger(PublishController.name);

  constructor(
    private readonly writer: RoomWriter,
    private readonly broker: BrokerLink,
    @Inject(API_CONFIG) private readonly config: ApiEnv,
  ) {}

  @Post('rooms/:room/messages')
  @HttpCode(201)
  @ApiOperation({ summary: "Publish a message into a room, as a socket's message:send" })
  @ApiParam({ name: 'room', description: 'matches ^[A-Za-z0-9_-]{1,64}$ (private rooms allowed)' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'acts as clientId (1-64 characters): a retry with the same body gets the first answer; the same key with another body is 422',
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
    type: SendResultDto,
  })
  @ApiInvalidPayload()
  @ApiResponse({
    status: 422,
    description: 'INVALID_PAYLOAD: the Idempotency-Key (clientId) was used with another body',
    type: ContractErrorBody,
  })
  @ApiUnavailable()
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
    const dto = bodyOf(PublishMessageDto, body, idempotencyKey);
    // A broker (the room's cluster) known to be unreachable: 503 before the append, so nothing is stored for a
    // message answered 503 (one whose confirm fails after the append may still be delivered).
    if (!this.broker.reaches(room))
      throw this.unavailable(room, 'the message broker', 'the broker link is down');
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
      if (err instanceof ClientIdConflict) {
        // The IETF draft on Idempotency-Key: a key reused with another payload is 422.
        throw new UnprocessableEntityException({
          error: {
            code: err.code,
            message: `Idempotency-Key (clientId) ${JSON.stringify(err.clientId)} was used with another body: a retry sends the same body, a new message a new key`,
          },
        });
      }
      if (!(err instanceof WriteUnavailable)) throw err;
      throw this.unavailable(room, err.dependency, err.message);
    }
  }

  @Delete('rooms/:room/messages/:id')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "A moderator's deletion: any member's message, an Update like the author's own (its user is the moderator)",
  })
  @ApiParam({ name: 'room', description: 'matches ^[A-Za-z0-9_-]{1,64}$' })
  @ApiParam({ name: 'id', description: "the message's id" })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'acts as clientId' })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['user'],
      additionalProperties: false,
      properties: {
        user: {
          type: 'object',
          required: ['id', 'name'],
          properties: { id: { type: 'string' }, name: { type: 'string', maxLength: 32 } },
        },
      },
    },
  })
  @ApiResponse({
    status: 200,
    description: 'the deletion is in the log and published',
    type: UpdateResultDto,
  })
  @ApiInvalidPayload()
  @ApiResponse({
    status: 404,
    description: 'NOT_FOUND: no such message in the room (or already deleted)',
    type: ContractErrorBody,
  })
  @ApiUnavailable()
  async deleteMessage(
    @Param('room') room: string,
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<UpdateResult> {
    bodyOf(DeleteMessageDto, { room, id });
    const dto = bodyOf(ModeratorDeleteDto, body, idempotencyKey);
    if (!this.broker.reaches(room))
      throw this.unavailable(room, 'the message broker', 'the broker link is down');
    try {
      return await this.writer.acceptUpdate({
        room,
        id,
        kind: 'delete',
        user: { id: dto.user.id, name: dto.user.name },
        ts: Date.now(),
        moderator: true,
        ...(dto.clientId !== undefined ? { clientId: dto.clientId } : {}),
      });
    } catch (err) {
      if (err instanceof ChatError) {
        const error = { error: { code: err.code, message: err.message } };
        throw err.code === ErrorCode.NotFound
          ? new NotFoundException(error)
          : new BadRequestException(error);
      }
      if (!(err instanceof WriteUnavailable)) throw err;
      throw this.unavailable(room, err.dependency, err.message);
    }
  }

  private unavailable(room: string, dependency: string, why: string) {
    this.logger.warn(`publish into ${room}: ${why}`);
    return new ServiceUnavailableException({
      error: {
        code: ErrorCode.Unavailable,
        message: `${dependency} is not answering; retry later`,
      },
    });
  }
}
