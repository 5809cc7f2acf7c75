import { SignJWT } from 'jose';

/** The JWT_SECRET of the tests' JWT-mode clusters (HS256 wants 32 bytes or more). */
export const TEST_JWT_SECRET = 'a-test-secret-that-is-at-least-32-bytes!';

/**
 * An HS256 token for `sub` (named `sub` unless `claims` say otherwise), issued now and valid
 * `seconds` from now (negative: already expired), signed with `secret`.
 */
export function signToken(
  sub: string,
  seconds = 3600,
  claims: Record<string, unknown> = {},
  secret = TEST_JWT_SECRET,
): Promise<string> {
  return new SignJWT({ name: sub, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(new TextEncoder().encode(secret));
}
