import { createHmac } from 'node:crypto';

/**
 * The `X-Roomcast-Signature` header of a body (PROTOCOL.md): `t=<unix seconds>,v1=<hex
 * HMAC-SHA256 of "<t>.<body>">`. Signed at each attempt, so `t` is the time of that attempt and a
 * receiver may refuse old ones (a replay).
 */
export function signWebhook(secret: string, body: string, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
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
