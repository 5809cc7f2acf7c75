import { Registry } from 'prom-client';
import { metricValue } from '@roomcast/testing';
import { DependencyMetrics, type ReadinessCheck } from './dependency-metrics';

const line = (text: string, name: string, dependency: string) =>
  metricValue(
    text
      .split('\n')
      .filter((l) => l.includes(`dependency="${dependency}"`))
      .join('\n'),
    name,
  );

describe('DependencyMetrics (the readiness checks as metrics)', () => {
  it('reports each dependency up or down at every scrape and counts the failures', async () => {
    const registry = new Registry();
    let redisUp = true;
    const checks: ReadinessCheck[] = [
      { name: 'redis', check: () => Promise.resolve(redisUp) },
      { name: 'rabbitmq', check: () => true },
    ];
    new DependencyMetrics(registry, checks);

    let text = await registry.metrics();
    expect(line(text, 'roomcast_dependency_up', 'redis')).toBe(1);
    expect(line(text, 'roomcast_dependency_up', 'rabbitmq')).toBe(1);
    // Present at 0 before any failure, so a rate of it exists from the start.
    expect(text).toContain('roomcast_dependency_check_failures_total{dependency="redis"} 0');
    expect(text).toContain('roomcast_dependency_check_failures_total{dependency="rabbitmq"} 0');

    redisUp = false;
    text = await registry.metrics();
    expect(line(text, 'roomcast_dependency_up', 'redis')).toBe(0);
    expect(line(text, 'roomcast_dependency_up', 'rabbitmq')).toBe(1);
    expect(line(text, 'roomcast_dependency_check_failures_total', 'redis')).toBe(1);
    expect(line(text, 'roomcast_dependency_check_failures_total', 'rabbitmq')).toBe(0);
  });

  it('takes a check that throws or does not answer in time as down, without holding the scrape', async () => {
    const registry = new Registry();
    new DependencyMetrics(
      registry,
      [
        { name: 'redis', check: () => new Promise<boolean>(() => undefined) },
        { name: 'rabbitmq', check: () => Promise.reject(new Error('connection closed')) },
      ],
      50,
    );
    const started = Date.now();
    const text = await registry.metrics();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(line(text, 'roomcast_dependency_up', 'redis')).toBe(0);
    expect(line(text, 'roomcast_dependency_up', 'rabbitmq')).toBe(0);
  });

  it('counts the failures GET /ready sees too, and answers with each check', async () => {
    const registry = new Registry();
    const deps = new DependencyMetrics(registry, [
      { name: 'redis', check: () => false },
      { name: 'rabbitmq', check: () => true },
    ]);
    expect(await deps.run()).toEqual([
      { name: 'redis', ok: false },
      { name: 'rabbitmq', ok: true },
    ]);
    // The scrape that reads it checks once more: GET /ready's failure and its own.
    const text = await registry.metrics();
    expect(line(text, 'roomcast_dependency_check_failures_total', 'redis')).toBe(2);
    expect(line(text, 'roomcast_dependency_check_failures_total', 'rabbitmq')).toBe(0);
  });
});
