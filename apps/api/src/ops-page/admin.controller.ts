import { Controller, Get, Header, Inject, UseGuards } from '@nestjs/common';
import { PresenceQueries } from '@roomcast/store';
import { SHOWS_PRIVATE_ROOMS } from '../config/api.env';
import { ADMIN_PAGE } from './admin.page';
import { OpsPageGuard } from './ops-page.guard';

/** How many of the busiest rooms, and how many rooms of the routing map, the page shows. */
export const ADMIN_TOP_ROOMS = 20;
export const ADMIN_ROUTING_ROWS = 200;

/**
 * The operations page: `/admin` is one static HTML page that polls `/admin/state` every second.
 * Both sit behind STATS_TOKEN when it is set (OpsPageGuard, which also takes Basic credentials so
 * a browser can sign in).
 */
@Controller('admin')
@UseGuards(OpsPageGuard)
export class AdminController {
  constructor(
    private readonly store: PresenceQueries,
    /** Private rooms show only to callers who had to present the token. */
    @Inject(SHOWS_PRIVATE_ROOMS) private readonly includePrivate: boolean,
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
   * member (the rankings' sizes), which is the routing map's length.
   */
  @Get('state')
  @Header('Cache-Control', 'no-store')
  async state() {
    const [stats, rooms, routing] = await Promise.all([
      this.store.clusterStats(this.includePrivate),
      this.store.topRooms(ADMIN_TOP_ROOMS, this.includePrivate),
      this.store.routing(this.includePrivate, { limit: ADMIN_ROUTING_ROWS }),
    ]);
    const bound = await this.store.routesOf(rooms.map((r) => r.room));
    return {
      at: Date.now(),
      stats,
      rooms: rooms.map((r, i) => ({ ...r, instances: bound[i].instances })),
      routing: routing.rooms,
      routedRooms: stats.rooms,
    };
  }
}
