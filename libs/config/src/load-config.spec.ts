import { IsBoolean } from 'class-validator';
import { CommonEnv, ToBoolean } from './common.env';
import { redactUrl } from './bootstrap';
import { ConfigError, loadConfig } from './load-config';

describe('loadConfig', () => {
  it('applies defaults and converts numbers', () => {
    const c = loadConfig(CommonEnv, { PORT: '4100' });
    expect(c.PORT).toBe(4100);
    expect(c.EXCHANGE).toBe('chat_events');
    expect(c.INSTANCE_ID).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('gives each process its own default instance id', () => {
    expect(loadConfig(CommonEnv, {}).INSTANCE_ID).not.toBe(loadConfig(CommonEnv, {}).INSTANCE_ID);
  });

  it('names every bad setting', () => {
    let error: unknown;
    try {
      loadConfig(CommonEnv, { PORT: 'eighty', AMQP_URL: 'http://nope' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/PORT=eighty/);
    expect((error as Error).message).toMatch(/AMQP_URL must be an amqp:\/\/ or amqps:\/\/ URL/);
  });
});

class FlagEnv {
  @ToBoolean()
  @IsBoolean()
  FLAG: boolean = false;
}

describe('ToBoolean', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads %s as %s', (value, expected) => {
    expect(loadConfig(FlagEnv, { FLAG: value }).FLAG).toBe(expected);
  });

  it('keeps the default when unset', () => {
    expect(loadConfig(FlagEnv, {}).FLAG).toBe(false);
  });
});

describe('redactUrl', () => {
  it('hides the password', () => {
    expect(redactUrl('amqp://guest:secret@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
  });
});
