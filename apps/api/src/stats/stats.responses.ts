import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * The Stats API's answers, as the OpenAPI document describes them (PROTOCOL.md, "Stats API").
 * Figures are counts now; times are ms since the epoch.
 */

export class InstanceStatsDto {
  @ApiProperty({ description: "the gateway's INSTANCE_ID" })
  id: string;

  @ApiProperty({ type: 'integer', minimum: 0 })
  connections: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'rooms with a local member' })
  rooms: number;

  @ApiProperty({ type: 'integer' })
  startedAt: number;

  @ApiProperty({ type: 'integer', description: 'its last heartbeat' })
  lastSeenAt: number;
}

export class ClusterStatsDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'users with a connection' })
  online: number;

  @ApiProperty({ type: 'integer', minimum: 0 })
  connections: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'rooms with a member' })
  rooms: number;

  @ApiProperty({ type: () => [InstanceStatsDto], description: 'the gateways, by id' })
  instances: InstanceStatsDto[];
}

export class RoomCountsDto {
  @ApiProperty()
  room: string;

  @ApiProperty({ type: 'integer', minimum: 0 })
  users: number;

  @ApiProperty({ type: 'integer', minimum: 0 })
  connections: number;
}

export class TopRoomsDto {
  @ApiProperty({ type: () => [RoomCountsDto], description: 'the rooms with the most users first' })
  rooms: RoomCountsDto[];
}

export class RoomRouteDto {
  @ApiProperty()
  room: string;

  @ApiProperty({ type: [String], description: 'the gateway instances bound to the room, sorted' })
  instances: string[];
}

export class RoutingPageDto {
  @ApiProperty({ type: () => [RoomRouteDto] })
  rooms: RoomRouteDto[];

  @ApiPropertyOptional({ description: "the following page's cursor; absent on the last page" })
  next?: string;
}

export class MemberDto {
  @ApiProperty()
  id: string;

  @ApiProperty()
  name: string;
}

/** A room's effective settings (RoomPolicies.of): its rule's, else the service's own. */
export class EffectiveRuleDto {
  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'the ROOM_RULES prefix that matched; null when none did',
  })
  prefix: string | null;

  @ApiProperty({ type: 'integer' })
  historyMax: number;

  @ApiProperty({ type: 'integer' })
  historyMaxAgeMs: number;

  @ApiProperty()
  presence: boolean;

  @ApiProperty()
  typing: boolean;

  @ApiProperty({ enum: ['members', 'server'] })
  publish: 'members' | 'server';

  @ApiProperty({ type: 'integer', nullable: true, description: 'null: no cap' })
  maxMembers: number | null;

  @ApiProperty()
  requiresClaim: boolean;
}

export class RoomDetailDto extends RoomCountsDto {
  @ApiProperty({ type: () => [MemberDto], description: 'a page of members, by user id' })
  members: MemberDto[];

  @ApiPropertyOptional({ description: "the following page's cursor; absent on the last page" })
  next?: string;

  @ApiProperty({ type: () => EffectiveRuleDto })
  rule: EffectiveRuleDto;
}
