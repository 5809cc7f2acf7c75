import {
  ChatError,
  ErrorCode,
  type Message,
  type RoomEnvelope,
  type SendResult,
  type UpdateResult,
} from '@roomcast/contracts';
import {
  ClientIdConflict,
  type RoomHistory,
  type UpdateDraft,
  type UpdateOutcome,
} from '@roomcast/store';
import { messageWebhook, type WebhookPublish } from './webhook-events';

/** Which dependency a write could not reach: Redis (the append) or the broker (the publish). */
export class WriteUnavailable extends Error {
  constructor(
    readonly dependency: 'Redis' | 'the message broker',
    override readonly cause: unknown,
  ) {
    super(`${dependency} failed: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'WriteUnavailable';
  }
}

/**
 * The fan-out port: publishes one entry of a room's traffic and resolves once the broker
 * confirmed the message that carries it (RoomFanout, and the gateway's RoomTraffic over it).
 */
export interface RoomPublisher {
  publish(room: string, envelope: RoomEnvelope): Promise<void>;
}

/**
 * The one write path of a room's log: a socket's `message:send`, edits, deletions and reactions
 * (gateway) and the server publish API (stats). Each write is the room's next seq and the history
 * in one script (batched with the other writes of the moment into one Redis pipeline), then the
 * publish through the fan-out port (batched into one broker message); it resolves with the ack
 * only once both are done. A retried
 * clientId gets the first send's ack and its message is published again (every member's
 * sequencer drops a repeat), so a send whose first publish was lost is still delivered once.
 *
 * With `webhooks` (WEBHOOK_MESSAGES) the message's `message.created` event is published beside
 * it, and the ack waits for both confirms: an acked message has its event in the broker's durable
 * queues. (A retried clientId publishes no second event: the first send numbered it.) A clientId
 * already used with another text or user name rejects with ClientIdConflict.
 */
export class RoomWriter {
  constructor(
    private readonly log: RoomHistory,
    private readonly fanout: RoomPublisher,
    private readonly webhooks?: WebhookPublish,
  ) {}

  async accept(
    draft: Omit<Message, 'seq'>,
    options: { floorSeq?: number; origin?: string } = {},
  ): Promise<{ ack: SendResult; duplicate: boolean }> {
    const { room } = draft;
    let appended: Awaited<ReturnType<RoomHistory['appendMessage']>>;
    try {
      appended = await this.log.appendMessage(draft, options.floorSeq ?? 0);
    } catch (err) {
      if (err instanceof ClientIdConflict) throw err;
      throw new WriteUnavailable('Redis', err);
    }
    const { ack, duplicate, prev, hook } = appended;
    const message = duplicate
      ? await this.log.messageAt(room, ack.seq).catch(() => undefined)
      : { ...draft, seq: ack.seq };
    if (message) {
      const envelope: RoomEnvelope = { t: 'message', message, prev };
      if (options.origin !== undefined) envelope.origin = options.origin;
      try {
        await Promise.all([
          this.fanout.publish(room, envelope),
          this.webhooks && hook > 0 && !duplicate
            ? this.webhooks([messageWebhook(message, hook)])
            : undefined,
        ]);
      } catch (err) {
        throw new WriteUnavailable('the message broker', err);
      }
    }
    return { ack, duplicate };
  }

  /**
   * An edit, deletion or reaction change, on the same path as a message: appended in seq order
   * with the room's messages, then published; resolves with the ack once both are done. A retried
   * clientId gets the first call's ack and its update is published again (sequencers drop
   * repeats). Rejects with the contract's ChatError when the change is refused (no such message,
   * not the author, too many reactions, a clientId used for another change), WriteUnavailable when
   * Redis or the broker failed.
   */
  async acceptUpdate(draft: UpdateDraft, floorSeq = 0): Promise<UpdateResult> {
    const { room } = draft;
    let outcome: UpdateOutcome;
    try {
      outcome = await this.log.appendUpdate(draft, floorSeq);
    } catch (err) {
      throw new WriteUnavailable('Redis', err);
    }
    let envelope: RoomEnvelope | undefined;
    let ack: UpdateResult;
    switch (outcome.status) {
      case 'ok':
        ack = { seq: outcome.update.seq };
        envelope = { t: 'update', update: outcome.update, prev: outcome.prev };
        break;
      case 'duplicate': {
        ack = outcome.ack;
        const update = await this.log.updateAt(room, ack.seq).catch(() => undefined);
        if (update) envelope = { t: 'update', update, prev: ack.seq - 1 };
        break;
      }
      default:
        throw updateRefused(outcome.status, draft);
    }
    if (envelope) {
      try {
        await this.fanout.publish(room, envelope);
      } catch (err) {
        throw new WriteUnavailable('the message broker', err);
      }
    }
    return ack;
  }
}

/**
 * An edit, deletion or reaction change that could not be applied, as the contract's error
 * (PROTOCOL.md): nothing was stored or published.
 */
function updateRefused(
  status: Exclude<UpdateOutcome['status'], 'ok' | 'duplicate'>,
  draft: UpdateDraft,
): ChatError {
  switch (status) {
    case 'not-found':
      return new ChatError(ErrorCode.NotFound, `no message ${draft.id} in ${draft.room}'s history`);
    case 'forbidden':
      return new ChatError(ErrorCode.Forbidden, 'only its author may edit or delete a message');
    case 'too-many-reactions':
      return new ChatError(ErrorCode.RateLimited, 'a message carries at most 20 reactions');
    case 'client-id-conflict':
      return new ChatError(
        ErrorCode.InvalidPayload,
        'this clientId was used for another change: use a new clientId for a new change',
      );
  }
}
