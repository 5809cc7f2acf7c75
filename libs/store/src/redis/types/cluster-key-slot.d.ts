/** cluster-key-slot (the CRC16 hash slot of a Redis key, as ioredis computes it) ships no types. */
declare module 'cluster-key-slot' {
  /** The hash slot (0-16383) of a key: of its `{tag}` when it has one. */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
