import { openModeUser } from './identity';

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

  it.each([[''], ['   '], ['x'.repeat(33)], [42], [{}]])('refuses the name %p', (name) => {
    expect(openModeUser({ name })).toBeNull();
  });
});
