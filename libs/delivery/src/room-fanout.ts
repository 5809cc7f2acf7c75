import { DEFAULT_GROUP_COMMIT, GroupCommit, type GroupCommitOptions } from '@roomcast/batching';
import { roomRoutingKey, type RoomEntry, type RoomEnvelope } from '@roomcast/contracts';

/** Publishes one broker message: its routing key, and further keys it is also routed by (BCC). */
export type FanoutPublish = (
  routingKey: string,
  body: RoomEnvelope,
  options: { bcc?: string[] },
) => Promise<void>;

interface Entry {
  room: string;
  envelope: RoomEnvelope;
}

/**
 * The one way room traffic leaves a process (gateways' sends and notices, presence's notices,
 * the server publish API): a group commit of broker messages. While one is awaiting its confirm,
 * further entries wait; then all of them, of any rooms, go as one broker message
 * (`{ t: 'batch', items }`) routed by every room's key: the first as its routing key, the others
 * in the BCC header (RabbitMQ's sender-selected distribution, stripped before delivery). The
 * exchange delivers one copy per bound queue, however many of its keys that queue binds; a queue
 * bound to none of them gets nothing, so an instance with no member in any room of a message
 * never receives it. Receivers keep the entries of rooms they host and count the others.
 *
 * A lone entry goes as itself, at the end of the turn that published it. Each publish resolves
 * once the broker confirmed the message that carries it, and rejects if that message failed.
 */
export class RoomFanout {
  private readonly batches: GroupCommit<Entry>;

  constructor(
    private readonly send: FanoutPublish,
    options: GroupCommitOptions = DEFAULT_GROUP_COMMIT,
    private readonly onPublished?: (entries: number) => void,
  ) {
    this.batches = new GroupCommit((entries) => this.commit(entries), options);
  }

  publish(room: string, envelope: RoomEnvelope): Promise<void> {
    return this.batches.submit({ room, envelope });
  }

  private async commit(entries: Entry[]): Promise<PromiseSettledResult<void>[]> {
    if (entries.length === 1) {
      const [{ room, envelope }] = entries;
      await this.send(roomRoutingKey(room), envelope, {});
    } else {
      const keys = [...new Set(entries.map((e) => roomRoutingKey(e.room)))];
      const items: RoomEntry[] = [];
      for (const { envelope } of entries) {
        if (envelope.t === 'batch') items.push(...envelope.items);
        else items.push(envelope);
      }
      await this.send(keys[0], { t: 'batch', items }, { bcc: keys.slice(1) });
    }
    this.onPublished?.(entries.length);
    return entries.map(() => ({ status: 'fulfilled', value: undefined }));
  }
}
