import {
  UseGuards,
  BadRequestException,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RoomPolicies } from '@roomcast/config';
import { isPrivateRoom } from '@roomcast/contracts';
import { decodeRoutingCursor, PresenceQueries } from '@roomcast/store';
import { SHOWS_PRIVATE_ROOMS } from '../config/api.env';
import { StatsTokenGuard } from './stats-token.guard';
import { RoomPageQueryDto, RoomParamDto, RoomsQueryDto, RoutingQueryDto } from './stats.dto';
import { ClusterStatsDto, RoomDetailDto, RoutingPageDto, TopRoomsDto } from './stats.responses';
import { ApiStatsToken, HttpErrorBody } from '../openapi/error-bodies';

const badQuery = ApiBadRequestResponse({
  description: "a query parameter out of its range (Nest's error body; `message` says which)",
  type: HttpErrorBody,
});

@Controller('stats')
@UseGuards(StatsTokenGuard)
@ApiTags('stats')
@ApiStatsToken()
export class StatsController {
  constructor(
    private readonly store: PresenceQueries,
    /** Private rooms show only to callers who had to present the token. */
    @Inject(SHOWS_PRIVATE_ROOMS) private readonly includePrivate: boolean,
    private readonly policies: RoomPolicies,
  ) {}

  /** The contract's fields only: the delivery counters are the operations page's (/admin/state). */
  @Get()
  @ApiOperation({ summary: 'Cluster-wide figures and the gateway instances' })
  @ApiOkResponse({ type: ClusterStatsDto })
  async cluster() {
    const stats = await this.store.clusterStats(this.includePrivate);
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    return { ...stats, instances: stats.instances.map(({ metrics, ...instance }) => instance) };
  }

  @Get('rooms')
  @ApiOperation({ summary: 'The busiest rooms, the most users first' })
  @ApiOkResponse({ type: TopRoomsDto })
  @badQuery
  async rooms(@Query() q: RoomsQueryDto) {
    return { rooms: await this.store.topRooms(q.limit, this.includePrivate) };
  }

  /**
   * Which gateway instances are bound to each room's routing key now, a page at a time: `{ rooms:
   * [{ room, instances }], next? }`, private rooms only to token holders (as in /stats/rooms).
   * A page costs O(limit) whatever the number of rooms (PresenceQueries.routing).
   * A gateway binds its queue to `room.<name>` exactly while it has a local member in the room,
   * and tells presence of a join after binding and of a leave after unbinding; presence records
   * the instance in the same script as the membership. So this map is the bindings, as of the
   * last join and leave presence applied (an unbind that failed, which the gateway logs, stays
   * until its broker link comes back, while the map no longer lists it).
   */
  @Get('routing')
  @ApiOperation({
    summary: "The routing map: which gateways are bound to each room's key, a page at a time",
  })
  @ApiOkResponse({ type: RoutingPageDto })
  @badQuery
  async routing(@Query() q: RoutingQueryDto) {
    if (q.cursor !== undefined && !decodeRoutingCursor(q.cursor))
      throw new BadRequestException('cursor must be the next of an earlier page');
    return this.store.routing(this.includePrivate, { cursor: q.cursor, limit: q.limit });
  }

  /**
   * A room's counts, a page of its members, and `rule`: the room's effective settings (its rule
   * from ROOM_RULES over the service's own, `prefix` null when no rule matched). A room that
   * needs the claim (private-, or by its rule) shows only to token holders.
   */
  @Get('rooms/:room')
  @ApiOperation({ summary: "A room's counts, a page of its members and its effective rule" })
  @ApiOkResponse({ type: RoomDetailDto })
  @badQuery
  @ApiNotFoundResponse({
    description:
      'a room that needs the claim (private-, or by its rule) asked without STATS_TOKEN set',
    type: HttpErrorBody,
  })
  async room(@Param() p: RoomParamDto, @Query() q: RoomPageQueryDto) {
    const rule = this.policies.of(p.room);
    if ((isPrivateRoom(p.room) || rule.requiresClaim) && !this.includePrivate)
      throw new NotFoundException(`no room ${p.room}`);
    const stats = await this.store.roomStats(p.room, { cursor: q.cursor, limit: q.limit });
    return { ...stats, rule };
  }
}
