import type { Channel, ChannelModel } from 'amqplib';

/**
 * Each queue's message count, read with passive declares (`checkQueue`: nothing is created,
 * consumed or changed), on channels of their own (a missing queue closes its channel, never the
 * caller's, and the next queue gets a fresh one); null for a queue the broker did not answer
 * about within `timeoutMs` (one that does not exist, or a broker gone). Never throws.
 */
export async function queueMessageCounts(
  connection: ChannelModel,
  queues: readonly string[],
  timeoutMs: number,
): Promise<(number | null)[]> {
  const nothing = queues.map(() => null);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<(number | null)[]>((resolve) => {
    timer = setTimeout(() => resolve(nothing), timeoutMs);
  });
  try {
    return await Promise.race([check(connection, queues).catch(() => nothing), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function check(connection: ChannelModel, queues: readonly string[]) {
  const counts: (number | null)[] = [];
  let ch: Channel | undefined;
  try {
    for (const queue of queues) {
      if (!ch) {
        ch = await connection.createChannel();
        ch.on('error', () => undefined);
      }
      try {
        counts.push((await ch.checkQueue(queue)).messageCount);
      } catch {
        counts.push(null);
        await ch.close().catch(() => undefined);
        ch = undefined;
      }
    }
    return counts;
  } finally {
    await ch?.close().catch(() => undefined);
  }
}
