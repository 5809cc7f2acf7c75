import { createHash, randomBytes } from 'node:crypto';
import type { User } from '@roomcast/contracts';

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
  if (name.length < 1 || name.length > 32) return null;
  return { id: userIdFor(name), name };
}

function userIdFor(name: string): string {
  return `u-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}
