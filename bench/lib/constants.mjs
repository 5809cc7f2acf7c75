// What more than one bench module uses: the systems under test, the memory probe every measured
// server process runs under, the limits lifted for load, where the published figures go, and the
// sweep's latency limit. No import of the harness: the report is written without it.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (the harness's ROOT, found without loading the harness). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The systems under test, in the order the report lists them; `color` is the chart's. */
export const SYSTEMS = {
  U: { label: 'U: Socket.IO, in-memory adapter (1 process)', instances: 1, color: '#8c8c8c' },
  A: { label: 'A: Socket.IO + redis-adapter createAdapter (3)', instances: 3, color: '#e07b39' },
  B: { label: 'B: Socket.IO + createShardedAdapter dynamic (3)', instances: 3, color: '#3a87c8' },
  S: {
    label: 'S: Socket.IO + redis-streams-adapter, state recovery (3)',
    instances: 3,
    color: '#c0392b',
  },
  // With --before DIR only: another checkout's build of roomcast, run like O, for before/after
  // figures from the same run.
  P: { label: 'P: roomcast before (--before build)', instances: 3, color: '#a6d8b8' },
  O: { label: 'O: roomcast (3 gateways + presence + stats)', instances: 3, color: '#2e9e5b' },
  C: { label: 'C: roomcast on a Redis Cluster of 3 masters', instances: 3, color: '#8e44ad' },
};

/** The systems that are roomcast (its gateways, presence and stats), on either Redis. */
export const ROOMCAST = ['O', 'C', 'P'];

/** Node options of every server process whose memory is read: bench/probe.cjs, with a GC. */
export const PROBE_ARGS = ['--expose-gc', '-r', join(ROOT, 'bench/probe.cjs')];

/** Load, not abuse: roomcast's per-connection and per-address limits lifted for a measure. */
export const LIFTED_LIMITS = {
  RATE_LIMIT_PER_SEC: '100000',
  RATE_LIMIT_BURST: '200000',
  RATE_LIMIT_EVENTS_PER_SEC: '100000',
  RATE_LIMIT_EVENTS_BURST: '200000',
  RATE_LIMIT_UNREAD_PER_10S: '1000000',
  MAX_CONNECTIONS_PER_IP: '1000000',
  MAX_ROOMS_PER_CONNECTION: '1000',
};

/** Where the published figures are written (docs/benchmarks/). */
export const DOCS_DIR = join(ROOT, 'docs/benchmarks');

/** A sweep step holds while its p99 is within this many ms (bench and bench:scaling). */
export const P99_LIMIT_MS = 50;
