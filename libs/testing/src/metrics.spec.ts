import { metricValue } from './metrics';

describe('metricValue', () => {
  const page = [
    '# HELP roomcast_broker_deliveries_total Room messages from the broker',
    '# TYPE roomcast_broker_deliveries_total counter',
    'roomcast_broker_deliveries_total{room_kind="a"} 3',
    'roomcast_broker_deliveries_total{room_kind="b"} 4.5',
    'roomcast_broker_deliveries_unused_total 2',
    'roomcast_room_bindings 0',
  ].join('\n');

  it('sums a metric over its label sets', () => {
    expect(metricValue(page, 'roomcast_broker_deliveries_total')).toBe(7.5);
  });

  it('does not count a longer name that starts with the same words', () => {
    expect(metricValue(page, 'roomcast_broker_deliveries_unused_total')).toBe(2);
    expect(metricValue(page, 'roomcast_broker_deliveries')).toBe(0);
  });

  it('is 0 for a metric that is absent or at zero', () => {
    expect(metricValue(page, 'roomcast_room_bindings')).toBe(0);
    expect(metricValue(page, 'roomcast_missing_total')).toBe(0);
  });
});
