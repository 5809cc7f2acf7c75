import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import type { AddressInfo } from 'node:net';
import type { WebhookEvent } from '@roomcast/contracts';

/** One POST the receiver got. */
export interface ReceivedWebhook {
  event: WebhookEvent;
  /** Whether the Standard Webhooks headers checked out (the reference verifier says so). */
  signed: boolean;
  /** The status the receiver answered. */
  status: number;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  /** Every POST, in arrival order, refused ones included. */
  readonly received: ReceivedWebhook[];
  /** The events it accepted (2xx), first time each id came, in arrival order. */
  accepted(): WebhookEvent[];
  /** Accepted events of one room, as `type`, `type <user name>` or `type <text>`, for order checks. */
  roomLog(room: string): string[];
  /** Answer 503 to everything from now on (down), or accept again. */
  setDown(down: boolean): void;
  /**
   * Answer each POST with the status `rule` gives for its event (undefined: as otherwise), e.g.
   * 503 for one room's events; no rule: back to normal. A 3xx comes with `Location: /moved`.
   */
  answer(rule?: (event: WebhookEvent) => number | undefined): void;
  /** Requests that followed a redirect to `/moved` (which answers 200 to anything). */
  readonly redirected: { method: string; body: string; at: number }[];
  close(): Promise<void>;
}

/**
 * A webhook receiver on 127.0.0.1 for tests: checks each signature with the Standard Webhooks
 * reference verifier (not the sender's code), answers 503 to the first `failFirst` POSTs (and to all while down), 200 otherwise.
 */
export async function startWebhookReceiver(options: {
  secret: string;
  failFirst?: number;
}): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const redirected: { method: string; body: string; at: number }[] = [];
  let rule: ((event: WebhookEvent) => number | undefined) | undefined;
  let down = false;
  let refusedFirst = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/moved') {
        redirected.push({ method: req.method ?? '', body, at: Date.now() });
        res.writeHead(200).end();
        return;
      }
      const signed = verify(options.secret, body, req.headers);
      let status = 200;
      if (down) status = 503;
      else if (refusedFirst < (options.failFirst ?? 0)) {
        refusedFirst++;
        status = 503;
      }
      try {
        const event = JSON.parse(body) as WebhookEvent;
        if (!down && rule) status = rule(event) ?? status;
        received.push({ event, signed, status, at: Date.now() });
      } catch {
        status = 400;
      }
      res.writeHead(status, status >= 300 && status < 400 ? { location: '/moved' } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const accepted = () => {
    const seen = new Set<string>();
    return received
      .filter((r) => r.status === 200 && !seen.has(r.event.id) && seen.add(r.event.id))
      .map((r) => r.event);
  };
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    accepted,
    roomLog: (room) =>
      accepted()
        .filter((e) => e.data.room === room)
        .map((e) =>
          'user' in e.data
            ? `${e.type} ${e.data.user.name}`
            : 'message' in e.data
              ? `${e.type} ${e.data.message.text}`
              : e.type,
        ),
    setDown: (d) => {
      down = d;
    },
    answer: (r) => {
      rule = r;
    },
    redirected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** docs/webhooks.md's check, written out independently of the sender's code. */
/**
 * Whether the Standard Webhooks headers sign `body` with `secret`, checked by the specification's
 * reference verifier (`standardwebhooks`), not by roomcast's code: a timestamp within 5 minutes,
 * and the id and body as signed.
 */
function verify(secret: string, body: string, headers: IncomingHttpHeaders): boolean {
  try {
    new Webhook(secret).verify(body, {
      'webhook-id': String(headers['webhook-id']),
      'webhook-timestamp': String(headers['webhook-timestamp']),
      'webhook-signature': String(headers['webhook-signature']),
    });
    return true;
  } catch {
    return false;
  }
}
