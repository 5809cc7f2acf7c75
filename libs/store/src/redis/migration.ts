import type Redis from 'ioredis';
import { Cluster } from 'ioredis';
import { RedisKeys } from './keys';
import type { RedisClient } from './connection';

/** The layout of keys.ts. Layout 1 (before Redis Cluster support) had no hash tags. */
export const LAYOUT = '2';
const LOCK_MS = 60_000;

export interface MigrationResult {
  /** Room keys (seq, generation, history, clientId acks) moved to their new names. */
  moved: number;
  /** Presence keys of layout 1 dropped: the gateways' syncs write presence again. */
  dropped: number;
  /** False when the keys were already in this layout, or another service moved them. */
  ran: boolean;
}

/** Layout 1's room keys that are kept: `<prefix>room:<room>:<kind>`. */
const KEPT = /^room:([A-Za-z0-9_-]{1,64}):(seq|gen|history|client:.+)$/;

/**
 * Brings a deployment's keys from layout 1 to this one, once: every service calls it at start
 * and waits for it, so no service reads or writes the new names before the old ones are moved.
 * A room's seq, generation, history and clientId acks move to their hash-tagged names, with their
 * expiry (RENAMENX on one Redis; DUMP and RESTORE on a cluster, where the names lie in other
 * slots). Layout 1's presence keys are dropped: presence is rebuilt within a heartbeat by each
 * gateway's sync (a restarted gateway starts empty anyway). A lock lets one service do it; the
 * others wait until it has written the layout mark.
 */
export async function migrateLayout(
  redis: RedisClient,
  prefix: string,
  owner: string,
  log: (message: string) => void = () => undefined,
  timeoutMs = LOCK_MS,
): Promise<MigrationResult> {
  const keys = new RedisKeys(prefix);
  const idle = { moved: 0, dropped: 0, ran: false };
  const deadline = Date.now() + timeoutMs;
  while ((await redis.get(keys.layout())) !== LAYOUT) {
    if ((await redis.set(keys.migrationLock(), owner, 'PX', LOCK_MS, 'NX')) === 'OK') {
      try {
        // Checked again under the lock: another service may have finished meanwhile.
        if ((await redis.get(keys.layout())) === LAYOUT) return idle;
        const result = await moveKeys(redis, keys);
        await redis.set(keys.layout(), LAYOUT);
        if (result.moved || result.dropped)
          log(
            `Redis keys moved to layout ${LAYOUT}: ${result.moved} room key(s) kept, ${result.dropped} presence key(s) of layout 1 dropped`,
          );
        return { ...result, ran: true };
      } finally {
        await redis.del(keys.migrationLock());
      }
    }
    if (Date.now() > deadline)
      throw new Error(
        `the Redis keys under ${prefix} were not moved to layout ${LAYOUT} within ${timeoutMs} ms (another service holds ${keys.migrationLock()})`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
  return idle;
}

async function moveKeys(
  redis: RedisClient,
  keys: RedisKeys,
): Promise<{ moved: number; dropped: number }> {
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const pattern = `${keys.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const own = new Set([
    keys.migrationLock(),
    keys.layout(),
    keys.sweepLock(),
    keys.queueWatchLock(),
  ]);
  let moved = 0;
  let dropped = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of found) {
        const rest = key.slice(keys.prefix.length);
        // Every key of this layout has a hash tag right after the prefix.
        if (rest.startsWith('{') || own.has(key)) continue;
        const kept = KEPT.exec(rest);
        // A kept key whose new name is already taken stays where it is, for an operator to see.
        if (kept) moved += (await move(redis, key, `${keys.room(kept[1])}${kept[2]}`)) ? 1 : 0;
        else dropped += await redis.del(key);
      }
    } while (cursor !== '0');
  }
  return { moved, dropped };
}

/** Moves a key with its expiry unless the new name is taken; false when it was not moved. */
async function move(redis: RedisClient, from: string, to: string): Promise<boolean> {
  if (!(redis instanceof Cluster)) return (await redis.renamenx(from, to)) === 1;
  const [dump, ttl] = await Promise.all([redis.dumpBuffer(from), redis.pttl(from)]);
  if (dump === null) return false;
  try {
    await redis.restore(to, ttl > 0 ? ttl : 0, dump);
  } catch (err) {
    if (String((err as Error).message).includes('BUSYKEY')) return false;
    throw err;
  }
  await redis.del(from);
  return true;
}
