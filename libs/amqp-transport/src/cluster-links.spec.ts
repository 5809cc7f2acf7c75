import { ClusterLinks, type ClusterLink } from './cluster-links';

/** A link that records its calls; `fails` makes its connect reject. */
function link(fails = false) {
  const calls: string[] = [];
  const l: ClusterLink & { calls: string[] } = {
    calls,
    connect: async () => {
      calls.push('connect');
      if (fails) throw new Error('cluster 2 refused');
    },
    close: async () => void calls.push('close'),
  };
  return l;
}

describe('ClusterLinks', () => {
  it('opens every link and closes them all on shutdown', async () => {
    const links = [link(), link()];
    const set = new ClusterLinks(await ClusterLinks.open(links));
    expect(links.map((l) => l.calls)).toEqual([['connect'], ['connect']]);
    await set.onApplicationShutdown();
    expect(links.map((l) => l.calls)).toEqual([
      ['connect', 'close'],
      ['connect', 'close'],
    ]);
  });

  it('closes the links it opened when one cluster does not answer, and throws its error', async () => {
    const links = [link(), link(true)];
    await expect(ClusterLinks.open(links)).rejects.toThrow('cluster 2 refused');
    expect(links.map((l) => l.calls)).toEqual([
      ['connect', 'close'],
      ['connect', 'close'],
    ]);
  });
});
