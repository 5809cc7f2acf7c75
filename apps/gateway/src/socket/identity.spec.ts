import { SignJWT } from 'jose';
import { jwtIdentity, openModeUser } from './identity';

describe('openModeUser', () => {
  it('derives one id from one name, so two tabs are one user', () => {
    const a = openModeUser({ name: 'Ann' });
    const b = openModeUser({ name: '  Ann ' });
    expect(a).toEqual({ id: expect.stringMatching(/^u-[0-9a-f]{16}$/), name: 'Ann' });
    expect(b?.id).toBe(a?.id);
    expect(openModeUser({ name: 'Bob' })?.id).not.toBe(a?.id);
  });

  it('makes a guest when no name is given', () => {
    expect(openModeUser({})?.name).toMatch(/^guest-[0-9a-f]{4}$/);
    expect(openModeUser(undefined)?.name).toMatch(/^guest-/);
  });

  it.each([[''], ['   '], ['x'.repeat(33)], [42], [{}], ['Ann \uD800'], ['\uDC00']])(
    'refuses the name %p',
    (name) => {
      expect(openModeUser({ name })).toBeNull();
    },
  );

  it('counts a name in characters, so 32 emoji are a valid name', () => {
    expect(openModeUser({ name: '\u{1F600}'.repeat(32) })?.name).toHaveLength(64);
  });
});

describe('jwtIdentity', () => {
  const secret = new TextEncoder().encode('s'.repeat(32));
  const sign = (claims: Record<string, unknown>, exp = Math.floor(Date.now() / 1000) + 60) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(secret);

  it('reads sub, name, exp and valid private rooms from a good token', async () => {
    const id = await jwtIdentity(
      { token: await sign({ sub: 'u1', name: ' Ann ', rooms: ['private-ops', 'bad.room', 7] }) },
      secret,
    );
    expect(id?.user).toEqual({ id: 'u1', name: 'Ann' });
    expect([...(id?.privateRooms ?? [])]).toEqual(['private-ops']);
    expect(id?.expiresAt).toBeGreaterThan(Date.now());
  });

  it('uses sub for a name that is not well-formed, and refuses such a sub', async () => {
    const id = await jwtIdentity({ token: await sign({ sub: 'u2', name: 'x\uD800' }) }, secret);
    expect(id?.user).toEqual({ id: 'u2', name: 'u2' });
    expect(await jwtIdentity({ token: await sign({ sub: 'u\uDC00' }) }, secret)).toBeNull();
  });

  it('refuses a token without sub or exp, expired, or signed with another key', async () => {
    expect(await jwtIdentity({ token: await sign({ name: 'x' }) }, secret)).toBeNull();
    expect(
      await jwtIdentity(
        { token: await sign({ sub: 'u' }, Math.floor(Date.now() / 1000) - 5) },
        secret,
      ),
    ).toBeNull();
    const other = new TextEncoder().encode('o'.repeat(32));
    expect(await jwtIdentity({ token: await sign({ sub: 'u' }) }, other)).toBeNull();
    expect(await jwtIdentity({}, secret)).toBeNull();
    expect(await jwtIdentity(null, secret)).toBeNull();
  });
});
