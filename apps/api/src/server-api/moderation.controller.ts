import {
  applyDecorators,
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Logger,
  Param,
  Post,
  Put,
  Query,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBody,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import {
  ErrorCode,
  gatewayRoutingKey,
  isValidRoomName,
  isValidUserId,
  type ModerationNotice,
  type WebhookEnvelope,
} from '@roomcast/contracts';
import {
  memberBannedWebhook,
  memberKickedWebhook,
  memberMutedWebhook,
  userRevokedWebhook,
  webhookPublisher,
  type WebhookPublish,
} from '@roomcast/delivery';
import {
  Moderation,
  PresenceQueries,
  WebhookNumbers,
  type BanPage,
  type MutePage,
  type Sanction,
} from '@roomcast/store';
import { BrokerLink } from '../broker/broker-link';
import { ApiTokenGuard } from './api-token.guard';
import { ApiInvalidPayload, ApiServerToken, ApiUnavailable } from '../openapi/error-bodies';
import {
  BanPageDto,
  BanResultDto,
  DisconnectResultDto,
  KickResultDto,
  MutePageDto,
  MuteResultDto,
  RevokeResultDto,
} from './server-api.responses';

/** The longest ban or mute with an end: about ten years (none: until lifted). */
const MAX_DURATION_MS = 10 * 365 * 24 * 3600 * 1000;
const MAX_REASON = 200;

/** The page queries of a room's bans or mutes. */
const ApiPageQuery = () =>
  applyDecorators(
    ApiQuery({ name: 'cursor', required: false, description: 'the `next` of the page before' }),
    ApiQuery({
      name: 'limit',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    }),
  );

/** The body of a ban or a mute: `{ durationMs?, reason? }`. */
const SANCTION_BODY = {
  required: false,
  schema: {
    type: 'object' as const,
    additionalProperties: false,
    properties: {
      durationMs: {
        type: 'integer' as const,
        minimum: 1,
        maximum: MAX_DURATION_MS,
        description: 'none: until lifted',
      },
      reason: { type: 'string' as const, maxLength: MAX_REASON },
    },
  },
};

const invalid = (message: string) =>
  new BadRequestException({ error: { code: ErrorCode.InvalidPayload, message } });

function room(value: string): string {
  if (!isValidRoomName(value)) throw invalid('room must match ^[A-Za-z0-9_-]{1,64}$');
  return value;
}

function user(value: unknown, field = 'userId'): string {
  if (!isValidUserId(value)) throw invalid(`${field} must be a user id: 1-128 characters`);
  return value;
}

/** The body's fields, every one known: an object with at most these keys. */
function fields(body: unknown, allowed: string[]): Record<string, unknown> {
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid('the body must be an object');
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length) throw invalid(`unknown field(s): ${unknown.join(', ')}`);
  return body as Record<string, unknown>;
}

function reasonOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > MAX_REASON) {
    throw invalid(`reason must be a string of at most ${MAX_REASON} characters`);
  }
  return value;
}

/** A sanction from `{ durationMs?, reason? }`: an end `durationMs` from now, or none. */
function sanctionOf(body: unknown, now = Date.now()): Sanction {
  const f = fields(body, ['durationMs', 'reason']);
  const d = f.durationMs;
  if (
    d !== undefined &&
    (!Number.isInteger(d) || (d as number) < 1 || (d as number) > MAX_DURATION_MS)
  ) {
    throw invalid(`durationMs must be an integer from 1 to ${MAX_DURATION_MS}`);
  }
  const reason = reasonOf(f.reason);
  return {
    until: d === undefined ? null : now + (d as number),
    at: now,
    ...(reason !== undefined ? { reason } : {}),
  };
}

/**
 * Moderation on the server API (PROTOCOL.md, "Server API and webhooks"), under API_TOKEN: kick,
 * ban, mute and disconnect. What must outlive a gateway (bans, mutes) is written to Redis first,
 * then one notice goes to the gateways that hold the user's connections (each binds its own key;
 * one broker message, the others in BCC); the answer comes once the broker confirmed it, and
 * each gateway applies it on receipt.
 *
 * A kick, ban, mute or revoke is also a webhook event (docs/webhooks.md), published (confirmed)
 * after the Redis write and before the notice: a room's event takes its number from the room's
 * webhook counter before any gateway can make the user leave, so `member.kicked` (or
 * `member.banned`) is numbered, and queued, ahead of the `member.left` it causes, whichever
 * process publishes first. A failed publish answers 503 like a failed notice: the caller's retry
 * repeats the action (same effect) and sends the event, and nothing is answered 200 without it.
 */
@Controller('api')
@UseGuards(ApiTokenGuard)
@ApiTags('server API')
@ApiServerToken()
@ApiInvalidPayload()
@ApiUnavailable('UNAVAILABLE: Redis or the broker is not answering; retry (the call repeats)')
export class ModerationController {
  private readonly logger = new Logger(ModerationController.name);
  private readonly publishWebhooks: WebhookPublish;

  constructor(
    private readonly moderation: Moderation,
    private readonly presence: PresenceQueries,
    private readonly broker: BrokerLink,
    private readonly numbers: WebhookNumbers,
  ) {
    this.publishWebhooks = webhookPublisher((key, data) => this.broker.publish(key, data));
  }

  @Post('rooms/:room/kick')
  @HttpCode(200)
  @ApiOperation({
    summary: "Every connection of the user leaves the room (room:removed 'kicked')",
    description:
      'Webhook member.kicked { room, userId, reason? }, ahead of the member.left the kick causes',
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['userId'],
      additionalProperties: false,
      properties: {
        userId: { type: 'string', minLength: 1, maxLength: 128 },
        reason: { type: 'string', maxLength: MAX_REASON },
      },
    },
  })
  @ApiOkResponse({ type: KickResultDto })
  async kick(@Param('room') r: string, @Body() body: unknown) {
    const name = room(r);
    const f = fields(body, ['userId', 'reason']);
    const userId = user(f.userId);
    const reason = reasonOf(f.reason);
    const connections = await this.remove(name, userId, 'kicked', (seq) =>
      memberKickedWebhook({ room: name, userId, reason }, seq),
    );
    return { room: name, userId, connections };
  }

  @Put('rooms/:room/bans/:userId')
  @ApiOperation({
    summary: 'A kick, then room:join FORBIDDEN until the ban ends (or is lifted)',
    description:
      'Webhook member.banned { room, userId, until, reason? } (until: null, until lifted), ahead of the member.left it causes',
  })
  @ApiBody(SANCTION_BODY)
  @ApiOkResponse({ type: BanResultDto })
  async ban(@Param('room') r: string, @Param('userId') u: string, @Body() body: unknown) {
    const name = room(r);
    const userId = user(u);
    const sanction = sanctionOf(body);
    await this.store(() => this.moderation.ban(name, userId, sanction));
    const { until, reason, at } = sanction;
    const connections = await this.remove(name, userId, 'banned', (seq) =>
      memberBannedWebhook({ room: name, userId, until, reason }, seq, at),
    );
    return { room: name, userId, until: sanction.until, connections };
  }

  @Delete('rooms/:room/bans/:userId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Lifts a ban', description: 'No webhook' })
  @ApiNoContentResponse({ description: 'lifted (or there was none)' })
  async unban(@Param('room') r: string, @Param('userId') u: string): Promise<void> {
    const name = room(r);
    const userId = user(u);
    await this.store(() => this.moderation.unban(name, userId));
  }

  @Get('rooms/:room/bans')
  @ApiOperation({ summary: "The room's bans in force, by user id, paginated like members" })
  @ApiPageQuery()
  @ApiOkResponse({ type: BanPageDto })
  bans(
    @Param('room') r: string,
    @Query('cursor') cursor?: string,
    @Query('limit') limit?: string,
  ): Promise<BanPage> {
    return this.page(r, cursor, limit, (name, n) => this.moderation.bans(name, n, cursor));
  }

  @Get('rooms/:room/mutes')
  @ApiOperation({ summary: "The room's mutes in force, by user id, paginated like members" })
  @ApiPageQuery()
  @ApiOkResponse({ type: MutePageDto })
  mutes(
    @Param('room') r: string,
    @Query('cursor') cursor?: string,
    @Query('limit') limit?: string,
  ): Promise<MutePage> {
    return this.page(r, cursor, limit, (name, n) => this.moderation.mutes(name, n, cursor));
  }

  /** A page of a room's bans or mutes: `limit` 1-500 (default 100), `cursor` a user id. */
  private page<T>(
    r: string,
    cursor: string | undefined,
    limit: string | undefined,
    read: (room: string, limit: number) => Promise<T>,
  ): Promise<T> {
    const name = room(r);
    const n = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 500)
      throw invalid('limit must be an integer from 1 to 500');
    if (cursor !== undefined) user(cursor, 'cursor');
    return this.store(() => read(name, n));
  }

  @Put('rooms/:room/mutes/:userId')
  @ApiOperation({
    summary: "The user's sends, edits and reactions in the room FORBIDDEN until it ends",
    description:
      'Webhook member.muted { room, userId, until, reason? } (until: null, until lifted)',
  })
  @ApiBody(SANCTION_BODY)
  @ApiOkResponse({ type: MuteResultDto })
  async mute(@Param('room') r: string, @Param('userId') u: string, @Body() body: unknown) {
    const name = room(r);
    const userId = user(u);
    const sanction = sanctionOf(body);
    await this.store(() => this.moderation.mute(name, userId, sanction));
    const { until, reason, at } = sanction;
    await this.announce(
      memberMutedWebhook({ room: name, userId, until, reason }, await this.numbered(name), at),
    );
    await this.notify(userId, { t: 'mute', room: name, userId, until });
    return { room: name, userId, until: sanction.until };
  }

  @Delete('rooms/:room/mutes/:userId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Lifts a mute', description: 'No webhook' })
  @ApiNoContentResponse({ description: 'lifted (or there was none)' })
  async unmute(@Param('room') r: string, @Param('userId') u: string): Promise<void> {
    const name = room(r);
    const userId = user(u);
    await this.store(() => this.moderation.unmute(name, userId));
    await this.notify(userId, { t: 'mute', room: name, userId, until: null });
  }

  @Post('users/:userId/disconnect')
  @HttpCode(200)
  @ApiOperation({ summary: "Every connection of the user: session:end 'revoked', then closed" })
  @ApiBody({
    required: false,
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { reason: { type: 'string', maxLength: MAX_REASON } },
    },
  })
  @ApiOkResponse({ type: DisconnectResultDto })
  async disconnect(@Param('userId') u: string, @Body() body: unknown) {
    const userId = user(u);
    reasonOf(fields(body, ['reason']).reason);
    const instances = await this.store(() => this.presence.userInstances(userId));
    await this.notify(userId, { t: 'disconnect', userId }, instances);
    return { connections: instances.length === 0 ? 0 : await this.connectionsOf(userId) };
  }

  @Post('users/:userId/revoke')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Refuses the user's tokens issued before issuedBefore (default now) at the handshake and by auth:refresh; ends the connections that hold one",
    description: 'Webhook user.revoked { userId, issuedBefore } (of no room: not ordered)',
  })
  @ApiBody({
    required: false,
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        issuedBefore: {
          type: 'integer',
          minimum: 0,
          description: 'ms since the epoch; default now',
        },
      },
    },
  })
  @ApiOkResponse({ type: RevokeResultDto })
  async revoke(@Param('userId') u: string, @Body() body: unknown) {
    const userId = user(u);
    const f = fields(body, ['issuedBefore']);
    const given = f.issuedBefore;
    if (given !== undefined && (!Number.isInteger(given) || (given as number) < 0)) {
      throw invalid('issuedBefore must be ms since the epoch (an integer >= 0)');
    }
    const asked = (given as number | undefined) ?? Date.now();
    const issuedBefore = await this.store(() => this.moderation.revoke(userId, asked));
    await this.announce(userRevokedWebhook({ userId, issuedBefore }));
    await this.notify(userId, { t: 'revoke', userId, issuedBefore });
    return { userId, issuedBefore };
  }

  /**
   * Out of the room on every gateway that holds the user, its webhook event (`event` of the
   * room's next number) first: how many connections were in it.
   */
  private async remove(
    name: string,
    userId: string,
    reason: 'kicked' | 'banned',
    event: (seq: number) => WebhookEnvelope,
  ) {
    const connections = await this.store(() => this.presence.userConnectionsIn(name, userId));
    await this.announce(event(await this.numbered(name)));
    await this.notify(userId, { t: 'remove', room: name, userId, reason });
    return connections;
  }

  /** The room's next webhook event number (its counter in Redis). */
  private numbered(name: string): Promise<number> {
    return this.store(() => this.numbers.next(name));
  }

  /**
   * Publishes a webhook event and resolves once the broker confirmed it. A number taken for an
   * event that then fails is a gap the sender waits out (WEBHOOK_REORDER_MS) in that room.
   */
  private async announce(envelope: WebhookEnvelope): Promise<void> {
    try {
      await this.publishWebhooks([envelope]);
    } catch (err) {
      this.logger.warn(
        `${envelope.event.type} webhook of ${envelope.room}: ${(err as Error).message}`,
      );
      throw unavailable('the message broker');
    }
  }

  private async connectionsOf(userId: string): Promise<number> {
    return this.store(() => this.presence.userConnections(userId));
  }

  /** One broker message to the gateways holding the user (none: nothing to tell). */
  private async notify(userId: string, notice: ModerationNotice, known?: string[]): Promise<void> {
    const instances = known ?? (await this.store(() => this.presence.userInstances(userId)));
    if (instances.length === 0) return;
    const [first, ...rest] = instances.map(gatewayRoutingKey);
    try {
      await this.broker.notify(first, notice, rest.length ? { bcc: rest } : {});
    } catch (err) {
      this.logger.warn(`moderation notice for ${userId}: ${(err as Error).message}`);
      throw unavailable('the message broker');
    }
  }

  private async store<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      this.logger.warn(`moderation: Redis: ${(err as Error).message}`);
      throw unavailable('Redis');
    }
  }
}

function unavailable(dependency: string) {
  return new ServiceUnavailableException({
    error: {
      code: ErrorCode.Unavailable,
      message: `${dependency} is not answering; retry later`,
      retryAfterMs: 1000,
    },
  });
}
