// Workloads: which rooms, how many members, on which instance each member sits.
// Every member is one connection (one user) in one room, and every member sends at the same
// rate, so a room's share of the sends is proportional to its size (equally chatty users).

export const FULL = {
  W1: { title: '300 rooms × 5, each room on one instance', groups: [[300, 5]], place: 'local' },
  W2: {
    title: '100 rooms × 10, members spread over the instances',
    groups: [[100, 10]],
    place: 'spread',
  },
  W3: {
    title: 'skewed: 1 × 600 + 40 × 10 + 200 × 2, spread',
    groups: [
      [1, 600],
      [40, 10],
      [200, 2],
    ],
    place: 'spread',
  },
  W4: {
    title: 'W2 + 100 joins and 100 leaves per second',
    groups: [[100, 10]],
    place: 'spread',
    churn: { clients: 100, perSec: 100 },
  },
  W5: { title: 'idle connections, 5000 per instance', idlePerInstance: 5000 },
  W6: {
    title: '50 rooms × 20, members spread over the instances',
    groups: [[50, 20]],
    place: 'spread',
  },
};

export const SMOKE = {
  W1: { title: '6 rooms × 3, each room on one instance', groups: [[6, 3]], place: 'local' },
  W2: { title: '4 rooms × 6, spread', groups: [[4, 6]], place: 'spread' },
  W3: {
    title: 'skewed: 1 × 30 + 3 × 4 + 5 × 2, spread',
    groups: [
      [1, 30],
      [3, 4],
      [5, 2],
    ],
    place: 'spread',
  },
  W4: {
    title: 'W2 + 20 joins and 20 leaves per second',
    groups: [[4, 6]],
    place: 'spread',
    churn: { clients: 6, perSec: 20 },
  },
  W5: { title: 'idle connections, 50 per instance', idlePerInstance: 50 },
  W6: { title: '2 rooms × 9, spread', groups: [[2, 9]], place: 'spread' },
};

/**
 * The concrete layout of workload `w` on instances `urls`, rooms named with `tag`:
 * { members: [{ url, room }], churn?: { clients: [{ url }], rooms, perSec }, fanout }.
 * `fanout` is the mean number of fixed members a send reaches, which turns a target delivery
 * rate into a send rate.
 */
export function layout(w, urls, tag) {
  const n = urls.length;
  if (w.idlePerInstance) {
    const members = [];
    for (let i = 0; i < w.idlePerInstance * n; i++) members.push({ url: urls[i % n], room: null });
    return { members, fanout: 0 };
  }
  const members = [];
  const rooms = [];
  let r = 0;
  for (const [count, size] of w.groups) {
    for (let k = 0; k < count; k++, r++) {
      const room = `${tag}-r${r}`;
      rooms.push(room);
      for (let j = 0; j < size; j++) {
        const instance = w.place === 'local' ? r % n : (r + j) % n;
        members.push({ url: urls[instance], room, size });
      }
    }
  }
  const fanout = members.reduce((a, m) => a + m.size, 0) / members.length;
  const churn = w.churn
    ? {
        clients: Array.from({ length: w.churn.clients }, (_, i) => ({ url: urls[i % n] })),
        rooms,
        perSec: w.churn.perSec,
      }
    : undefined;
  return { members: members.map(({ url, room }) => ({ url, room })), churn, fanout };
}
