import type { RedisClient } from '../redis/connection';
import { RedisKeys } from '../redis/keys';

/** How long a room's webhook counter lives past its last event: HOOK_TTL_MS of lua/_hooks.lua. */
const HOOK_TTL_MS = 86_400_000;

/**
 * Numbers for the webhook events the server API makes (moderation: `member.kicked`,
 * `member.banned`, `member.muted`), taken from the room's own webhook counter (the key
 * lua/_hooks.lua counts membership changes and messages on), so they share one order with
 * `member.left` and the rest. INCRBY and PEXPIRE go in one MULTI on the one key (its room's
 * slot), as the script does them. A number is taken whether or not webhooks are configured:
 * the server API does not know, and a number nothing consumes costs one key for a day.
 */
export class WebhookNumbers {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  /** The room's next webhook event number. */
  async next(room: string): Promise<number> {
    const key = this.keys.roomHooks(room);
    const result = await this.redis.multi().incrby(key, 1).pexpire(key, HOOK_TTL_MS).exec();
    const [err, seq] = result?.[0] ?? [new Error('the transaction was discarded'), null];
    if (err) throw err;
    return Number(seq);
  }
}
