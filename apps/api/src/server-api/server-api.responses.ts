import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * The server API's answers, as the OpenAPI document describes them (PROTOCOL.md, "Server API and
 * webhooks"). Times are ms since the epoch.
 */

/** An accepted publish: what a socket's `message:send` answers. */
export class SendResultDto {
  @ApiProperty({ description: "the message's id" })
  id: string;

  @ApiProperty({ type: 'integer', minimum: 1, description: "its place in the room's log" })
  seq: number;

  @ApiProperty({ type: 'integer' })
  ts: number;
}

/** An accepted update (a moderator's deletion): its place in the room's log. */
export class UpdateResultDto {
  @ApiProperty({ type: 'integer', minimum: 1 })
  seq: number;
}

export class DeadLetterDto {
  @ApiProperty({ description: "the event's id" })
  id: string;

  @ApiProperty({
    enum: ['attempts', 'overflow', 'other'],
    description: 'attempts: its attempts ran out; overflow: pushed out of a full backlog',
  })
  reason: 'attempts' | 'overflow' | 'other';

  @ApiProperty({ description: 'the URL queue it came from and goes back to on replay' })
  queue: string;

  @ApiPropertyOptional()
  url?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0 })
  attempts?: number;

  @ApiPropertyOptional()
  lastError?: string;

  @ApiPropertyOptional({ type: 'integer', description: 'when it was dead-lettered' })
  at?: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'the envelope as published, { room, seq, event }; absent when it is not JSON',
  })
  envelope?: Record<string, unknown>;
}

export class DeadLetterListDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'dead letters in the queue' })
  total: number;

  @ApiProperty({ type: () => [DeadLetterDto], description: 'the oldest first' })
  deadLetters: DeadLetterDto[];
}

export class ReplayResultDto {
  @ApiProperty({ type: [String], description: 'the ids of the events sent back' })
  replayed: string[];

  @ApiProperty({ type: 'integer', minimum: 0, description: 'left: their URL queue is gone' })
  kept: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'dead letters still in the queue' })
  remaining: number;
}

export class KickResultDto {
  @ApiProperty()
  room: string;

  @ApiProperty()
  userId: string;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: "the user's connections that were in the room",
  })
  connections: number;
}

export class MuteResultDto {
  @ApiProperty()
  room: string;

  @ApiProperty()
  userId: string;

  @ApiProperty({ type: 'integer', nullable: true, description: 'when it ends; null: until lifted' })
  until: number | null;
}

export class BanResultDto extends MuteResultDto {
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: "the user's connections that were in the room (removed from it)",
  })
  connections: number;
}

export class BanEntryDto {
  @ApiProperty()
  userId: string;

  @ApiProperty({ type: 'integer', nullable: true, description: 'when it ends; null: until lifted' })
  until: number | null;

  @ApiPropertyOptional()
  reason?: string;

  @ApiProperty({ type: 'integer', description: 'when it was given' })
  at: number;
}

export class BanPageDto {
  @ApiProperty({ type: () => [BanEntryDto], description: 'by user id' })
  bans: BanEntryDto[];

  @ApiPropertyOptional({ description: "the following page's cursor; absent on the last page" })
  next?: string;
}

export class MutePageDto {
  @ApiProperty({ type: () => [BanEntryDto], description: 'by user id (the same fields as a ban)' })
  mutes: BanEntryDto[];

  @ApiPropertyOptional({ description: "the following page's cursor; absent on the last page" })
  next?: string;
}

export class DisconnectResultDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: "the user's connections it ended" })
  connections: number;
}

export class RevokeResultDto {
  @ApiProperty()
  userId: string;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'tokens with an iat before it are refused (ms since the epoch)',
  })
  issuedBefore: number;
}
