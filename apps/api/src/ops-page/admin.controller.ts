import {
  BadRequestException,
  Controller,
  Get,
  Header,
  Inject,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { RoomPolicies } from '@roomcast/config';
import { ErrorCode, isValidRoomName } from '@roomcast/contracts';
import { Moderation, PresenceQueries } from '@roomcast/store';
import { SHOWS_PRIVATE_ROOMS } from '../config/api.env';
import { ADMIN_PAGE, ADMIN_SANCTION_ROWS } from './admin.page';
import { OpsPageGuard } from './ops-page.guard';
import { WebhookBacklog } from './webhook-backlog';

/** How many of the busiest rooms, and how many rooms of the routing map, the page shows. */
export const ADMIN_TOP_ROOMS = 20;
export const ADMIN_ROUTING_ROWS = 200;

/**
 * The operations page: `/admin` is one static HTML page that polls `/admin/state` every second
 * and asks `/admin/rules` for the room rules. All sit behind STATS_TOKEN when it is set
 * (OpsPageGuard, which also takes Basic credentials so a browser can sign in).
 */
@Controller('admin')
@UseGuards(OpsPageGuard)
// Not in the OpenAPI document: its JSON feeds this page and changes with it (the Stats API is the contract).
@ApiExcludeController()
export class AdminController {
  constructor(
    private readonly store: PresenceQueries,
    /** Private rooms show only to callers who had to present the token. */
    @Inject(SHOWS_PRIVATE_ROOMS) private readonly includePrivate: boolean,
    private readonly moderation: Moderation,
    private readonly policies: RoomPolicies,
    private readonly backlog: WebhookBacklog,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  )
  page(): string {
    return ADMIN_PAGE;
  }

  /**
   * One sample of the cluster: instances (with their delivery counters), the busiest rooms with
   * their bound gateways, and the routing map's first page. Its cost does not grow with the
   * number of rooms (the page polls it every second): the cluster figures are O(groups +
   * instances), the busiest rooms come from the groups' rankings (O(groups × ADMIN_TOP_ROOMS)),
   * the routing rows are one page of /stats/routing. `routedRooms` is the count of rooms with a
   * member (the rankings' sizes), which is the routing map's length. `bans` and `mutes` are the
   * most recent ADMIN_SANCTION_ROWS of each in force, across rooms (`{ room, userId, until,
   * reason?, at }`, the most recent first; Moderation.active: O(ADMIN_SANCTION_ROWS), whatever
   * the number of rooms or sanctions); those of rooms that need the claim (`private-`, or by their
   * rule) only to callers who had to present the token, as /stats/rooms/:room shows them.
   * `webhooks`: each receiver of WEBHOOK_URL with the events waiting for it on the broker
   * (`{ url, backlog }`, backlog null when the broker did not answer; WebhookBacklog: no Redis,
   * one broker read a second however many pages poll, [] without WEBHOOK_URL).
   */
  @Get('state')
  @Header('Cache-Control', 'no-store')
  async state() {
    const sanctions = { includePrivate: this.includePrivate };
    const [stats, rooms, routing, bans, mutes, webhooks] = await Promise.all([
      this.store.clusterStats(this.includePrivate),
      this.store.topRooms(ADMIN_TOP_ROOMS, this.includePrivate),
      this.store.routing(this.includePrivate, { limit: ADMIN_ROUTING_ROWS }),
      this.moderation.active('ban', ADMIN_SANCTION_ROWS, sanctions),
      this.moderation.active('mute', ADMIN_SANCTION_ROWS, sanctions),
      this.backlog.read(),
    ]);
    const bound = await this.store.routesOf(rooms.map((r) => r.room));
    return {
      at: Date.now(),
      stats,
      rooms: rooms.map((r, i) => ({ ...r, instances: bound[i].instances })),
      routing: routing.rooms,
      routedRooms: stats.rooms,
      bans: bans.filter(this.shown),
      mutes: mutes.filter(this.shown),
      webhooks,
    };
  }

  /** A sanction's room may show: the private ones were left out by Moderation.active already. */
  private readonly shown = ({ room }: { room: string }) =>
    this.includePrivate || !this.policies.of(room).requiresClaim;

  /**
   * The room rules of ROOM_RULES (`rules`: each prefix and its fields, in the file's order) and
   * the service's own settings under them (`defaults`); with `?room=`, also that room's
   * effective rule (`rule`, with the `prefix` that gave it, null when none matched). Rules are
   * settings, not rooms: a private room's rule is shown as any other. A name that is not a room
   * name: 400 INVALID_PAYLOAD.
   */
  @Get('rules')
  @Header('Cache-Control', 'no-store')
  rules(@Query('room') room?: unknown) {
    const listed = { rules: this.policies.rules.entries(), defaults: this.policies.defaults };
    if (room === undefined) return listed;
    if (!isValidRoomName(room)) {
      throw new BadRequestException({
        error: {
          code: ErrorCode.InvalidPayload,
          message: 'room must match ^[A-Za-z0-9_-]{1,64}$',
        },
      });
    }
    return { ...listed, room, rule: this.policies.of(room) };
  }
}
