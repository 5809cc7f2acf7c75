import { createHash, randomBytes } from 'node:crypto';
import { isValidRoomName, isWellFormedText, textLength, type User } from '@roomcast/contracts';
import { jwtVerify } from 'jose';

/** Who a connection is, and what its handshake allows it. */
export interface Identity {
  user: User;
  /** Private rooms the user may join (from the JWT `rooms` claim). */
  privateRooms: ReadonlySet<string>;
  /** When the token stops being valid (ms since the epoch), in JWT mode. */
  expiresAt?: number;
  /** When the token was issued (`iat`, ms since the epoch), if it says. */
  issuedAt?: number;
}

/**
 * Open-mode identity: the trimmed `name` (1-32 chars) is the display name and the user id is
 * derived from it, so two tabs with one name are one user. No name: a generated guest.
 * Returns null for a name that is present but unusable (the handshake is refused).
 */
export function openModeUser(auth: unknown): User | null {
  const raw =
    typeof auth === 'object' && auth !== null ? (auth as { name?: unknown }).name : undefined;
  if (raw === undefined || raw === null) {
    const name = `guest-${randomBytes(2).toString('hex')}`;
    return { id: userIdFor(name), name };
  }
  if (typeof raw !== 'string') return null;
  const name = raw.trim();
  if (!isDisplayName(name)) return null;
  return { id: userIdFor(name), name };
}

/** 1-32 characters of well-formed Unicode (a lone surrogate cannot be stored or shown). */
function isDisplayName(name: string): boolean {
  const n = textLength(name);
  return n >= 1 && n <= 32 && isWellFormedText(name);
}

function userIdFor(name: string): string {
  return `u-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

/**
 * JWT-mode identity: `auth.token` must be an HS256 JWT signed with the secret, with `sub` and
 * `exp`; `name` is the display name and `rooms` the private rooms allowed. Anything else
 * (missing, forged, malformed, expired, another algorithm) is null: the handshake is refused.
 */
export async function jwtIdentity(
  auth: unknown,
  secret: Uint8Array,
  now = Date.now(),
): Promise<Identity | null> {
  const token =
    typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
  if (typeof token !== 'string' || token.length === 0 || token.length > 8192) return null;
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp'],
      currentDate: new Date(now),
    });
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub.length < 1 || sub.length > 128) return null;
    if (!isWellFormedText(sub)) return null;
    const rawName = typeof payload.name === 'string' ? payload.name.trim() : '';
    const name = isDisplayName(rawName) ? rawName : [...sub].slice(0, 32).join('');
    const rooms = Array.isArray(payload.rooms) ? payload.rooms.filter(isValidRoomName) : [];
    return {
      user: { id: sub, name },
      privateRooms: new Set(rooms),
      expiresAt: (payload.exp as number) * 1000,
      ...(typeof payload.iat === 'number' ? { issuedAt: payload.iat * 1000 } : {}),
    };
  } catch {
    return null;
  }
}
