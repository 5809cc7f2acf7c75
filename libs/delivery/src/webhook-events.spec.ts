import { USER_WEBHOOKS_ROOM, webhookRoutingKey } from '@roomcast/contracts';
import {
  memberBannedWebhook,
  memberKickedWebhook,
  memberMutedWebhook,
  userRevokedWebhook,
  webhookPublisher,
} from './webhook-events';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('moderation webhook events', () => {
  it('member.kicked: the room, the number given, the reason only when there is one', () => {
    const e = memberKickedWebhook({ room: 'lobby', userId: 'u1', reason: 'spam' }, 7, 1000);
    expect(e).toEqual({
      room: 'lobby',
      seq: 7,
      event: {
        id: expect.stringMatching(UUID),
        type: 'member.kicked',
        ts: 1000,
        data: { room: 'lobby', userId: 'u1', reason: 'spam' },
      },
    });
    const plain = memberKickedWebhook({ room: 'lobby', userId: 'u1', reason: undefined }, 8);
    expect(plain.event.data).toEqual({ room: 'lobby', userId: 'u1' });
    expect(Object.keys(plain.event.data)).not.toContain('reason');
    expect(plain.event.id).not.toBe(e.event.id);
  });

  it('member.banned and member.muted carry until (null: until lifted)', () => {
    const ban = memberBannedWebhook({ room: 'r', userId: 'u', until: null, reason: 'abuse' }, 3, 5);
    expect(ban).toMatchObject({
      room: 'r',
      seq: 3,
      event: { type: 'member.banned', ts: 5, data: { room: 'r', userId: 'u', until: null } },
    });
    expect(ban.event.data).toEqual({ room: 'r', userId: 'u', until: null, reason: 'abuse' });
    const mute = memberMutedWebhook({ room: 'r', userId: 'u', until: 9000 }, 4, 6);
    expect(mute).toMatchObject({
      room: 'r',
      seq: 4,
      event: { type: 'member.muted', ts: 6, data: { room: 'r', userId: 'u', until: 9000 } },
    });
    expect(mute.event.data).toEqual({ room: 'r', userId: 'u', until: 9000 });
  });

  it('refuses a room event number that is not a counter value (at least 1)', () => {
    const data = { room: 'r', userId: 'u' };
    for (const seq of [0, -1, 1.5, NaN])
      expect(() => memberKickedWebhook(data, seq)).toThrow(RangeError);
    expect(() => memberMutedWebhook({ ...data, until: null }, 0)).toThrow(RangeError);
    expect(() => memberBannedWebhook({ ...data, until: null }, 0)).toThrow(RangeError);
  });

  it('user.revoked: no room in its data, under the room-less envelope with seq 0', () => {
    const e = userRevokedWebhook({ userId: 'u.1', issuedBefore: 1234 }, 99);
    expect(e).toEqual({
      room: USER_WEBHOOKS_ROOM,
      seq: 0,
      event: {
        id: expect.stringMatching(UUID),
        type: 'user.revoked',
        ts: 99,
        data: { userId: 'u.1', issuedBefore: 1234 },
      },
    });
  });

  it('the room-less envelope cannot be a room and is one routing-key word that webhook.* takes', () => {
    expect(USER_WEBHOOKS_ROOM).not.toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(USER_WEBHOOKS_ROOM).not.toMatch(/[.*#]/);
    expect(webhookRoutingKey(USER_WEBHOOKS_ROOM).split('.')).toEqual([
      'webhook',
      USER_WEBHOOKS_ROOM,
    ]);
  });

  it('publishes each envelope under its room key, the revoked one included', async () => {
    const sent: [string, unknown][] = [];
    const publish = webhookPublisher(async (key, data) => {
      sent.push([key, data]);
    });
    const kicked = memberKickedWebhook({ room: 'lobby', userId: 'u' }, 1);
    const revoked = userRevokedWebhook({ userId: 'u', issuedBefore: 1 });
    await publish([kicked, revoked]);
    expect(sent).toEqual([
      ['webhook.lobby', kicked],
      [`webhook.${USER_WEBHOOKS_ROOM}`, revoked],
    ]);
  });
});
