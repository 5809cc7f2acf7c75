import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Headers on every answer of the stats service: a browser must not guess another type than the
 * one declared (`nosniff`), nor show any of it in a frame of another site (clickjacking the
 * operations page); the referrer of a link followed from /admin leaks nothing.
 */
export function securityHeaders(_req: IncomingMessage, res: ServerResponse, next: () => void) {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
}
