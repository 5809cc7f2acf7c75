import type { Message } from '@roomcast/contracts';
import type { AnyAck, RunningService, TestClient } from '@roomcast/testing';

/**
 * What the failover specs share: a `message:send` as its sender saw it, whether it was accepted,
 * and the room's history read back page by page.
 */
export interface Send {
  clientId: string;
  sentAt: number;
  ms: number;
  /** The ack, or 'timeout' when none came within the spec's ack timeout. */
  ack: AnyAck | 'timeout';
}

export type AcceptedSend<S extends Send = Send> = S & { ack: AnyAck & { seq: number; id: string } };

export const isOk = <S extends Send>(s: S): s is AcceptedSend<S> => s.ack !== 'timeout' && s.ack.ok;

export const alive = (s: RunningService) =>
  s.child.exitCode === null && s.child.signalCode === null;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every message of `room`'s history after `afterSeq`, read by `client` 100 at a time. */
export async function historyAfter(
  client: TestClient,
  room: string,
  afterSeq: number,
): Promise<Message[]> {
  const history: Message[] = [];
  for (let from = afterSeq; ;) {
    const page = await client.ack<{ ok: boolean; messages: Message[] }>('room:history', {
      room,
      afterSeq: from,
      limit: 100,
    });
    if (!page.ok) throw new Error(`room:history failed: ${JSON.stringify(page)}`);
    history.push(...page.messages);
    if (page.messages.length < 100) return history;
    from = page.messages.at(-1)!.seq;
  }
}
