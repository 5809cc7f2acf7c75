import { runFuzz } from '@roomcast/testing';
import fc from 'fast-check';
import { clusterOf, clusterRanking } from './shards';

/** Room names as the contract allows them (^[A-Za-z0-9_-]{1,64}$). */
const roomName = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);

/** N rooms named as an application would: a prefix and a number. */
const rooms = (n: number) => Array.from({ length: n }, (_, i) => `room-${i}`);

describe('clusterOf (rendezvous hashing of rooms over broker clusters)', () => {
  it('is pinned: these rooms land where every earlier version put them', () => {
    // A change here would move live rooms between clusters on an upgrade: never change the hash.
    expect(['general', 'lobby', 'room-1', 'room-2', 'a'].map((r) => clusterOf(r, 2))).toEqual(
      PINNED_2,
    );
    expect(['general', 'lobby', 'room-1', 'room-2', 'a'].map((r) => clusterOf(r, 5))).toEqual(
      PINNED_5,
    );
  });

  it('puts every room on cluster 0 when there is one cluster', () => {
    expect(rooms(100).every((r) => clusterOf(r, 1) === 0)).toBe(true);
  });

  it('refuses a cluster count that is not a positive integer', () => {
    for (const k of [0, -1, 1.5, NaN]) {
      expect(() => clusterOf('r', k)).toThrow(/clusters must be a positive integer/);
      expect(() => clusterRanking('r', k)).toThrow(/clusters must be a positive integer/);
    }
  });

  // 1000 cases (FUZZ_RUNS): any room name, 1 to 16 clusters.
  it('is stable, ranks its own cluster first, and adding a cluster moves rooms only to it', async () => {
    await runFuzz(
      'clusterOf: stable, ranked first, moves only to the new cluster',
      fc.property(roomName, fc.integer({ min: 1, max: 16 }), (room, k) => {
        const home = clusterOf(room, k);
        const ranking = clusterRanking(room, k);
        const after = clusterOf(room, k + 1);
        return (
          home >= 0 &&
          home < k &&
          clusterOf(room, k) === home &&
          ranking[0] === home &&
          [...ranking].sort((a, b) => a - b).every((c, i) => c === i) &&
          (after === home || after === k)
        );
      }),
      { defaultRuns: 1000 },
    );
  });

  it('moves about 1/(k+1) of the rooms when cluster k is added (5000 rooms, k = 1..7)', () => {
    const names = rooms(5000);
    for (let k = 1; k <= 7; k++) {
      const moved = names.filter((r) => clusterOf(r, k) !== clusterOf(r, k + 1)).length;
      const share = moved / names.length;
      // Expected 1/(k+1); the binomial spread over 5000 rooms is under 4% of it (±15% is 4 sigma).
      expect(share).toBeGreaterThan((1 / (k + 1)) * 0.85);
      expect(share).toBeLessThan((1 / (k + 1)) * 1.15);
    }
  });

  it('spreads rooms evenly (5000 rooms, 2..8 clusters: each within 15% of its share)', () => {
    const names = rooms(5000);
    for (let k = 2; k <= 8; k++) {
      const counts = new Array<number>(k).fill(0);
      for (const r of names) counts[clusterOf(r, k)]++;
      for (const c of counts) {
        expect(c).toBeGreaterThan((names.length / k) * 0.85);
        expect(c).toBeLessThan((names.length / k) * 1.15);
      }
    }
  });
});

const PINNED_2 = [1, 1, 1, 0, 0];
const PINNED_5 = [1, 2, 2, 4, 3];
