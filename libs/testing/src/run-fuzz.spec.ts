import fc from 'fast-check';
import { runFuzz } from './arbitraries';

/** runFuzz's printed lines while `run` runs. */
async function printed(run: () => Promise<void>): Promise<string[]> {
  const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await run();
    return write.mock.calls.map(([chunk]) => String(chunk));
  } finally {
    write.mockRestore();
  }
}

describe('runFuzz: a property passes only once all its cases ran', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    for (const name of ['FUZZ_RUNS', 'FUZZ_SEED', 'FUZZ_PATH']) delete process.env[name];
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('runs every case and prints how many ran', async () => {
    let cases = 0;
    const lines = await printed(() =>
      runFuzz(
        'counted',
        fc.property(fc.nat(), () => {
          cases++;
        }),
        { defaultRuns: 37 },
      ),
    );
    expect(cases).toBe(37);
    expect(lines).toEqual([expect.stringMatching(/^\[fuzz\] counted: 37 of 37 cases, seed -?\d+/)]);
  });

  it('takes the count from FUZZ_RUNS', async () => {
    process.env.FUZZ_RUNS = '5';
    let cases = 0;
    await printed(() =>
      runFuzz(
        'from env',
        fc.property(fc.nat(), () => {
          cases++;
        }),
        { defaultRuns: 37 },
      ),
    );
    expect(cases).toBe(5);
  });

  it('fails a run its time limit cuts short, though no case failed', async () => {
    // 1000 cases of 20 ms cannot fit in 100 ms: an interrupted run is not a pass.
    const slow = fc.asyncProperty(fc.nat(), () => new Promise<void>((r) => setTimeout(r, 20)));
    await expect(runFuzz('slow', slow, { defaultRuns: 1000, timeLimitMs: 100 })).rejects.toThrow(
      /^\[fuzz\] slow: FAILED: its 100 ms limit cut the run short after [\d.]+ s, before 1000 cases/,
    );
  });

  it('fails with the seed and path that replay the failing case', async () => {
    await expect(
      runFuzz(
        'failing',
        fc.property(fc.nat(), (n) => {
          expect(n).toBeLessThan(10);
        }),
        { defaultRuns: 200 },
      ),
    ).rejects.toThrow(
      /FAILED after \d+ of 200 case\(s\)[\s\S]*replay: FUZZ_SEED=-?\d+ FUZZ_PATH='[\d:]+'/,
    );
  });
});
