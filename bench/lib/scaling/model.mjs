// The arithmetic of the load model (bench/scaling-model.mjs) that its unit test checks on its own:
// what lingering bindings save and cost, how rooms split over k broker clusters, and the least k
// that keeps every cluster under its measured ceilings. Plain functions of numbers, no I/O.

/**
 * The share of the binding operations of single-member (room, gateway) pairs that the linger
 * saves. A share `rejoinShare` of the leaves are brief absences (a reconnect, a reload, a tab
 * switch) after which the member joins the same room on the same gateway again, gone a time
 * spread evenly over [0, rejoinWithinS]; the linger `lingerS` covers those gone no longer than
 * it, and each covered one saves a bind and an unbind. The other leaves end the room's presence
 * on the gateway: their unbind is only postponed.
 */
export function lingerSaving({ rejoinShare, rejoinWithinS, lingerS }) {
  return rejoinShare * lingerCovers({ rejoinWithinS, lingerS });
}

/** The share of the rejoins a linger of `lingerS` covers (absences even over [0, within]). */
export function lingerCovers({ rejoinWithinS, lingerS }) {
  if (lingerS <= 0) return 0;
  if (rejoinWithinS <= 0) return 1;
  return Math.min(1, lingerS / rejoinWithinS);
}

/**
 * Seconds, per leave of a single-member pair, that the room stays bound on the gateway with no
 * member there (its messages reach the gateway unused): `awayS` for a covered rejoin (the
 * measured time away, its traffic unused), the whole linger for a rejoin it does not cover and
 * for a leave that is not a rejoin.
 */
export function lingerIdleSeconds({ rejoinShare, rejoinWithinS, lingerS, awayS }) {
  if (lingerS <= 0) return 0;
  const covered = lingerCovers({ rejoinWithinS, lingerS });
  return rejoinShare * covered * awayS + (1 - rejoinShare * covered) * lingerS;
}

/**
 * Bind + unbind operations per second: each single-member (room, gateway) pair binds once and
 * unbinds once per session of `sessionS`, less what the linger saves.
 */
export function bindOpsPerSec({ singles, sessionS, saving }) {
  return ((2 * singles) / sessionS) * (1 - saving);
}

/**
 * Sums per-room loads into `k` clusters. `clusterOf(r)` is room r's cluster (rooms hashed to
 * clusters); `loads` maps a name to a per-room array. Returns per-cluster arrays by name.
 */
export function splitByCluster(loads, k, clusterOf) {
  const out = {};
  for (const name of Object.keys(loads)) out[name] = new Float64Array(k);
  const n = Object.values(loads)[0]?.length ?? 0;
  for (let r = 0; r < n; r++) {
    const c = clusterOf(r);
    for (const name in loads) out[name][c] += loads[name][r];
  }
  return out;
}

/**
 * The least k in [1, maxK] whose busiest cluster keeps every ceiling at or under `headroom` of
 * its limit. `ceilingsFor(k)` returns [{ load, limit }] for the busiest cluster at k. Starts at
 * the even-split bound (no k below it can fit) and steps up. null when no k up to maxK fits.
 */
export function leastClusters(ceilingsFor, headroom, maxK = 1000) {
  const at1 = ceilingsFor(1);
  let k = Math.max(1, ...at1.map((c) => Math.ceil(c.load / (c.limit * headroom) - 1e-9)));
  for (; k <= maxK; k++) {
    if (ceilingsFor(k).every((c) => c.load <= c.limit * headroom)) return k;
  }
  return null;
}
