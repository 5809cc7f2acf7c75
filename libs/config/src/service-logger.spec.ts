import { serviceLogger } from './bootstrap';

/** What a ServiceLogger at `level` prints for a framework route line and a service's own line. */
function printed(level: 'log' | 'debug'): string {
  const out: string[] = [];
  const write = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
  try {
    const logger = serviceLogger(level);
    logger.log('Mapped {/stats, GET} route', 'RouterExplorer');
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    logger.log('broker connection lost; reconnecting', 'AmqpTopicClient');
  } finally {
    write.mockRestore();
  }
  return out.join('');
}

describe('ServiceLogger', () => {
  it("keeps Nest's start-up lines out of LOG_LEVEL=log and the service's own lines in", () => {
    const out = printed('log');
    expect(out).toContain('broker connection lost; reconnecting');
    expect(out).not.toContain('Mapped {/stats, GET} route');
    expect(out).not.toContain('dependencies initialized');
  });

  it('shows them at LOG_LEVEL=debug', () => {
    const out = printed('debug');
    expect(out).toContain('Mapped {/stats, GET} route');
    expect(out).toContain('AppModule dependencies initialized');
    expect(out).toContain('broker connection lost; reconnecting');
  });
});
