import { Webhook } from 'standardwebhooks';

/** The form of WEBHOOK_SECRET: `whsec_` and the base64 of the key (Standard Webhooks). */
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** The shortest key a WEBHOOK_SECRET may carry: 24 bytes (Standard Webhooks asks 24 to 64). */
export const WEBHOOK_SECRET_MIN_BYTES = 24;

/**
 * What is wrong with a WEBHOOK_SECRET, in words (undefined: nothing): it must be `whsec_` and the
 * base64 of 24 to 64 random bytes, as `node -e "console.log('whsec_' +
 * require('crypto').randomBytes(32).toString('base64'))"` prints.
 */
export function webhookSecretProblem(secret: string): string | undefined {
  const how =
    "make one with: node -e \"console.log('whsec_' + require('crypto').randomBytes(32).toString('base64'))\"";
  if (!WEBHOOK_SECRET_PATTERN.test(secret)) {
    return `WEBHOOK_SECRET must be whsec_ and the base64 of a random key (Standard Webhooks); ${how}`;
  }
  const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64').length;
  if (bytes < WEBHOOK_SECRET_MIN_BYTES || bytes > 64) {
    return `WEBHOOK_SECRET's key must be 24 to 64 bytes (it has ${bytes}); ${how}`;
  }
  return undefined;
}

/** The Standard Webhooks headers of one delivery attempt. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs webhook deliveries as the Standard Webhooks specification says (PROTOCOL.md), with its
 * reference implementation: `webhook-id` (the event's id, the same on every retry),
 * `webhook-timestamp` (unix seconds of this attempt, so a receiver may refuse old ones) and
 * `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the
 * base64-decoded part of the `whsec_` secret).
 */
export class WebhookSigner {
  private readonly webhook: Webhook;

  constructor(secret: string) {
    const problem = webhookSecretProblem(secret);
    if (problem) throw new Error(problem);
    this.webhook = new Webhook(secret);
  }

  headers(id: string, body: string, nowMs = Date.now()): WebhookHeaders {
    const at = new Date(Math.floor(nowMs / 1000) * 1000);
    return {
      'webhook-id': id,
      'webhook-timestamp': String(at.getTime() / 1000),
      'webhook-signature': this.webhook.sign(id, at, body),
    };
  }
}

/**
 * The wait before retry number `attempt` (1 for the first): `baseMs` doubled per attempt up to
 * `maxMs`, then between half of it and all of it (jitter), so receivers coming back are not hit
 * by every sender at once. A receiver down for longer than the schedule's climb gets the next
 * attempt within `maxMs` of coming back.
 */
export function retryDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random) {
  const full = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(full / 2 + (random() * full) / 2);
}
