import { Controller, Get, Param, Query } from '@nestjs/common';
import { PresenceStore } from '@roomcast/presence-store';
import { RoomParamDto, RoomsQueryDto } from './dto/stats.dto';

@Controller('stats')
export class StatsController {
  constructor(private readonly store: PresenceStore) {}

  @Get()
  cluster() {
    return this.store.clusterStats();
  }

  @Get('rooms')
  async rooms(@Query() q: RoomsQueryDto) {
    return { rooms: await this.store.topRooms(q.limit) };
  }

  @Get('rooms/:room')
  room(@Param() p: RoomParamDto) {
    return this.store.roomStats(p.room);
  }
}
