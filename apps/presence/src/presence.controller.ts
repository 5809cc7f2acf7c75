import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  PresenceEvent,
  type ConnectEvent,
  type DisconnectEvent,
  type GoodbyeEvent,
  type HeartbeatEvent,
  type RoomEvent,
  type SyncEvent,
} from '@roomcast/contracts';
import { PresenceService } from './presence.service';

/** Gateway events from the `presence.#` bindings of the shared presence queue. */
@Controller()
export class PresenceController {
  constructor(private readonly presence: PresenceService) {}

  @EventPattern(PresenceEvent.Connect)
  async onConnect(@Payload() e: ConnectEvent) {
    await this.presence.connect(e.instanceId, e.socketId, e.user);
  }

  @EventPattern(PresenceEvent.Join)
  async onJoin(@Payload() e: RoomEvent) {
    await this.presence.join(e.socketId, e.room);
  }

  @EventPattern(PresenceEvent.Leave)
  async onLeave(@Payload() e: RoomEvent) {
    await this.presence.leave(e.socketId, e.room);
  }

  @EventPattern(PresenceEvent.Disconnect)
  async onDisconnect(@Payload() e: DisconnectEvent) {
    await this.presence.disconnect(e.socketId);
  }

  @EventPattern(PresenceEvent.Heartbeat)
  async onHeartbeat(@Payload() e: HeartbeatEvent) {
    await this.presence.heartbeat(e);
  }

  @EventPattern(PresenceEvent.Sync)
  async onSync(@Payload() e: SyncEvent) {
    await this.presence.sync(e);
  }

  @EventPattern(PresenceEvent.Goodbye)
  async onGoodbye(@Payload() e: GoodbyeEvent) {
    await this.presence.removeInstance(e.instanceId, 'goodbye');
  }
}
