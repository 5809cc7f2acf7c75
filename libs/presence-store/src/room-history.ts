import type { Message, SendResult } from '@roomcast/contracts';
import { RedisKeys } from './keys';
import type { RedisClient } from './redis';
import { ScriptRunner } from './script-runner';
import * as scripts from './scripts';

export interface HistoryQuery {
  beforeSeq?: number;
  afterSeq?: number;
  limit: number;
}

/** How long room history is kept: by count and by age. */
export interface Retention {
  maxMessages: number;
  maxAgeMs: number;
}
export const DEFAULT_RETENTION: Retention = { maxMessages: 1000, maxAgeMs: 24 * 3600 * 1000 };

export interface AppendResult {
  ack: SendResult;
  /** True when the clientId was seen before: `ack` is the first send's. */
  duplicate: boolean;
  /**
   * The seq before this one in the room's counter: `seq - 1`, or 0 when this send started a new
   * generation (nothing before it is to be waited for).
   */
  prev: number;
}

/** Where a room's counter stands. */
export interface SeqState {
  /** The last assigned seq (0: no counter). */
  current: number;
  /** The seq its generation started from: messages have seqs above it (0: unknown or none). */
  gen: number;
}

/**
 * A room's log: its seq counter (and generation), its history and the clientId keys of safe
 * retries. A room's append is one script over the room's keys only, which share its group's hash
 * tag (keys.ts): one slot, on one Redis as on a cluster.
 */
export class RoomHistory {
  readonly keys: RedisKeys;
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    readonly retention: Retention = DEFAULT_RETENTION,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = new ScriptRunner(redis);
  }

  /**
   * Assigns the room's next seq and stores the message with it, atomically; with a clientId, a
   * retry within the retention window gets the first send's ack instead. `floorSeq` is the last
   * seq the caller has seen in the room: the counter never goes below it.
   */
  async appendMessage(
    message: Omit<Message, 'seq'>,
    floorSeq = 0,
    now = Date.now(),
  ): Promise<AppendResult> {
    const json = JSON.stringify(message);
    const { room } = message;
    const keys = [this.keys.roomSeq(room), this.keys.roomGen(room), this.keys.roomHistory(room)];
    if (message.clientId !== undefined)
      keys.push(this.keys.roomClient(room, message.user.id, message.clientId));
    const r = (await this.scripts.runBatched(scripts.APPEND_MESSAGE, keys, [
      json.slice(1),
      this.retention.maxMessages,
      this.retention.maxAgeMs,
      now,
      floorSeq,
      message.id,
      message.ts,
    ])) as [string, number, number];
    const ack = JSON.parse(r[0]) as SendResult;
    const duplicate = Number(r[1]) === 1;
    if (!duplicate) return { ack, duplicate, prev: Number(r[2]) };
    // A retry: the first send's predecessor, so a republish is not held for a gap fill.
    return { ack, duplicate, prev: Number(r[2]) === ack.seq - 1 ? 0 : ack.seq - 1 };
  }

  /** The room's last assigned seq (0 for a room without messages). */
  async currentSeq(room: string): Promise<number> {
    return Number((await this.redis.get(this.keys.roomSeq(room))) ?? 0);
  }

  /** The room's last assigned seq and its generation's start, read together. */
  async seqState(room: string): Promise<SeqState> {
    const [current, gen] = await this.redis.mget(this.keys.roomSeq(room), this.keys.roomGen(room));
    return { current: Number(current ?? 0), gen: Number(gen ?? 0) };
  }

  /** One message by seq, if still retained. */
  async messageAt(room: string, seq: number): Promise<Message | undefined> {
    return this.fresh(await this.redis.zrangebyscore(this.keys.roomHistory(room), seq, seq))[0];
  }

  /** The last `limit` messages, oldest first. */
  async recentMessages(room: string, limit: number): Promise<Message[]> {
    return this.fresh(await this.redis.zrange(this.keys.roomHistory(room), String(-limit), '-1'));
  }

  async history(room: string, q: HistoryQuery): Promise<Message[]> {
    const key = this.keys.roomHistory(room);
    if (q.afterSeq !== undefined) {
      const max = q.beforeSeq !== undefined ? `(${q.beforeSeq}` : '+inf';
      return this.fresh(
        await this.redis.zrangebyscore(key, `(${q.afterSeq}`, max, 'LIMIT', 0, q.limit),
      );
    }
    if (q.beforeSeq !== undefined) {
      const newestFirst = await this.redis.zrevrangebyscore(
        key,
        `(${q.beforeSeq}`,
        '-inf',
        'LIMIT',
        0,
        q.limit,
      );
      return this.fresh(newestFirst.reverse());
    }
    return this.recentMessages(room, q.limit);
  }

  /** Parses stored messages, leaving out those past the age limit (a room idle since). */
  private fresh(items: string[], now = Date.now()): Message[] {
    const cutoff = now - this.retention.maxAgeMs;
    return items.map((s) => JSON.parse(s) as Message).filter((m) => m.ts >= cutoff);
  }
}
