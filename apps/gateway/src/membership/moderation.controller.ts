import { Controller, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { GATEWAY_KEY_PATTERN, type ModerationNotice } from '@roomcast/contracts';
import { stateOf } from '../socket/chat-socket';
import { Sessions } from '../socket/sessions';
import { ChatService } from './chat.service';

/**
 * The server API's moderation notices for this instance (its own routing key, bound from its
 * start): a kick or a ban takes the user's connections here out of the room, a mute changes
 * what their sends are answered, a disconnect ends them. The state that must outlive a gateway
 * is in Redis already (read again at every join).
 */
@Controller()
export class ModerationController {
  private readonly logger = new Logger(ModerationController.name);

  constructor(
    private readonly chat: ChatService,
    private readonly sessions: Sessions,
  ) {}

  @EventPattern(GATEWAY_KEY_PATTERN)
  async onNotice(@Payload() notice: ModerationNotice): Promise<void> {
    switch (notice?.t) {
      case 'remove': {
        const n = await this.chat.removeUser(notice.room, notice.userId, notice.reason);
        return this.logger.log(`${notice.reason} ${notice.userId} from ${notice.room}: ${n} here`);
      }
      case 'mute':
        this.chat.muteUser(notice.room, notice.userId, notice.until);
        return;
      case 'disconnect':
        for (const socket of this.chat.socketsOf(notice.userId)) {
          this.sessions.end(socket, 'revoked', false);
        }
        return;
      case 'revoke':
        for (const socket of this.chat.socketsOf(notice.userId)) {
          const issued = stateOf(socket).issuedAt ?? 0;
          if (issued < notice.issuedBefore) this.sessions.end(socket, 'revoked', false);
        }
        return;
      default:
        this.logger.warn(`an unknown notice on this instance's key: ${JSON.stringify(notice)}`);
    }
  }
}
