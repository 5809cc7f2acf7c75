/**
 * Which of several broker clusters carries a room's traffic (AMQP_URL with clusters separated by
 * `;`): rendezvous hashing, also called highest random weight. Every cluster index gets a score
 * from a fixed hash of (key, index) and the key goes to the highest. Hence:
 * - stable: the same key always picks the same cluster, in every process and every version (the
 *   hash is spelled out here, never a runtime's);
 * - adding a cluster moves only the keys whose new top score is the new cluster's, about
 *   1/(k+1) of them, and moves them only to it: the others keep their top. Append a new cluster
 *   at the END of AMQP_URL and never reorder or remove one: an index is the cluster's identity.
 *
 * Pure and synchronous: gateways, presence and the server API each compute it for every publish.
 */

/**
 * cyrb53 (public domain, by bryc): a fast 53-bit string hash with a seed, two 32-bit lanes
 * mixed with Math.imul. Well spread for short keys such as room names and socket ids.
 */
function hash53(key: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < key.length; i++) {
    const ch = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The score of `key` on cluster `index`; the cluster index is the seed, so scores are independent. */
function score(key: string, index: number): number {
  // A seed of its own per index, spread over 32 bits (index 0 would otherwise seed with 0).
  return hash53(key, Math.imul(index + 1, 0x9e3779b1));
}

/** The cluster (0..clusters-1) that carries `key` (a room name, or a socket id). */
export function clusterOf(key: string, clusters: number): number {
  if (!Number.isInteger(clusters) || clusters < 1) {
    throw new RangeError(`clusters must be a positive integer, not ${clusters}`);
  }
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < clusters; i++) {
    const s = score(key, i);
    // Ties (1 in 2^53) go to the lower index, so the answer never depends on the loop's order.
    if (s > bestScore) {
      best = i;
      bestScore = s;
    }
  }
  return best;
}

/**
 * Every cluster index ranked for `key`, its own cluster (clusterOf) first: where a key goes when
 * its first choices are down, the same fallback order in every process.
 */
export function clusterRanking(key: string, clusters: number): number[] {
  if (!Number.isInteger(clusters) || clusters < 1) {
    throw new RangeError(`clusters must be a positive integer, not ${clusters}`);
  }
  const scored = Array.from({ length: clusters }, (_, i) => ({ i, s: score(key, i) }));
  scored.sort((a, b) => b.s - a.s || a.i - b.i);
  return scored.map((x) => x.i);
}
