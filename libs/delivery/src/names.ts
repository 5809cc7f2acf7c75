import { createHash } from 'node:crypto';

/**
 * The durable queue of one webhook URL: `<base>.<first 16 hex digits of the URL's SHA-256>`, so
 * each receiver has a backlog of its own (one that is down holds back no other) and the queue
 * stays the same across restarts while the URL does.
 */
export function webhookQueueName(base: string, url: string): string {
  return `${base}.${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;
}
