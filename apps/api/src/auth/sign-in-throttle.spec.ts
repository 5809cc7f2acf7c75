import type { IncomingMessage } from 'node:http';
import { HttpException } from '@nestjs/common';
import type { ApiEnv } from '../config/api.env';
import { addressKey, SignInThrottle } from './sign-in-throttle';

describe('addressKey: what one client is, for counting failed sign-ins', () => {
  it('counts an IPv6 client by its /64, however it writes its address', () => {
    const net = '2001:db8:1:2::/64';
    for (const address of [
      '2001:db8:1:2::1',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0DB8:0001:0002:0:0:0:9',
      '2001:db8:1:2:a::b',
      'fe80::1%eth0'.replace('fe80::1', '2001:db8:1:2::77'),
    ])
      expect([address, addressKey(address)]).toEqual([address, net]);
    expect(addressKey('2001:db8:1:3::1')).not.toBe(net);
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::')).toBe('0:0:0:0::/64');
    expect(addressKey('1::')).toBe('1:0:0:0::/64');
    expect(addressKey('::2:3:4:5:6:1.2.3.4')).toBe('0:2:3:4::/64');
  });

  it('keeps IPv4 addresses whole, IPv4-mapped ones too, and anything else as it is', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('unknown')).toBe('unknown');
  });
});

describe('SignInThrottle: guesses from one IPv6 network count together', () => {
  it('locks out a /64 whose guesses each came from another address in it', () => {
    const throttle = new SignInThrottle({
      SIGNIN_MAX_FAILURES: 3,
      SIGNIN_WINDOW_MS: 60_000,
      TRUST_PROXY: true,
    } as ApiEnv);
    const from = (address: string) =>
      ({
        headers: { 'x-forwarded-for': `198.51.100.1, ${address}` },
        socket: { remoteAddress: '127.0.0.1' },
      }) as unknown as IncomingMessage;
    const res = { setHeader: jest.fn() } as never;
    for (let i = 1; i <= 3; i++) throttle.failed(throttle.addressOf(from(`2001:db8:5:6::${i}`)));
    expect(() => throttle.check(throttle.addressOf(from('2001:db8:5:6::99')), res)).toThrow(
      HttpException,
    );
    expect(() => throttle.check(throttle.addressOf(from('2001:db8:5:7::1')), res)).not.toThrow();
  });
});
