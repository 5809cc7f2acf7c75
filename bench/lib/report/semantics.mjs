// The chat semantics bench's table (docs/benchmarks/semantics.md) from its rounds
// (semantics.json): each call's server CPU and rate, the median over the rounds of each column.
import { join } from 'node:path';
import { fmt as f, utcMinute } from '../log.mjs';
import { median } from '../stats.mjs';
import { writePretty } from './write.mjs';

/** The server processes' groups, in the table's order. */
export const GROUPS = ['gateways', 'presence', 'stats', 'redis', 'rabbitmq'];

/** semantics.md's text from semantics.json's content. */
export function semanticsMarkdown({ startedAt, ops, inflight, rounds, messages, results }) {
  const rows = Object.entries(results).map(([name, rs]) => ({
    name,
    usPerOp: median(rs.map((r) => r.usPerOp)),
    perSec: median(rs.map((r) => r.perSec)),
    groups: Object.fromEntries(GROUPS.map((g) => [g, median(rs.map((r) => r.groups[g] ?? 0))])),
  }));
  const send = rows.find((r) => r.name === 'message:send').usPerOp;
  return [
    '# What reads, edits and reactions cost beside a send',
    '',
    `\`npm run bench:semantics\`, ${utcMinute(startedAt)} UTC: three gateways, presence and the api service on the machine's Redis and RabbitMQ; one room with one member on each gateway (so a send or an update is delivered to 3 sockets on 3 gateways); ${ops} calls of each kind, ${inflight} in flight, ${rounds} rounds, medians. Server CPU is utime + stime of every server process over the phase divided by its calls (${messages} messages received in all).`,
    '',
    '| call | server CPU µs per call | × a send | gateways | presence | api | Redis | RabbitMQ | calls/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| \`${r.name}\` | ${f(r.usPerOp)} | ${f(r.usPerOp / send, 2)} | ${GROUPS.map((g) => f(r.groups[g])).join(' | ')} | ${Math.round(r.perSec)} |`,
    ),
    '',
    "The `room:read` calls here find the cursor already at the room's last seq (the members' own sends put it there): the cost of the cursor script and the ack. A read that moves the cursor adds one publish of a `read` notice on the room's key, as a send's publish, delivered to the user's other connections. An update is a send's path with a heavier script (the message is found by id and rewritten in its new state) and the same publish, ordering and fan-out. `rooms:unread` is one script per room the user has a cursor in (here one) and a read of the user's index.",
    '',
  ].join('\n');
}

/** Writes semantics.json (the rounds) and semantics.md (their medians) to `out`. */
export async function writeSemantics(out, result) {
  await writePretty(join(out, 'semantics.json'), JSON.stringify(result, null, 2));
  await writePretty(join(out, 'semantics.md'), semanticsMarkdown(result));
  return [join(out, 'semantics.json'), join(out, 'semantics.md')];
}
