// Preloaded (`node --expose-gc -r bench/probe.cjs ...`) into every server process the benchmark
// starts, roomcast's gateways included, so memory is read the same way everywhere without
// touching the apps. On SIGWINCH (a signal nothing here uses: Nest's shutdown hooks take
// SIGUSR2, Node's inspector SIGUSR1) it runs a full GC and writes process.memoryUsage() to
// $BENCH_PROBE_DIR/<pid>.mem.json; with $BENCH_PROBE_DIR/<pid>.cmd holding "exit" it exits
// cleanly instead (so `--cpu-prof` writes its profile).
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.BENCH_PROBE_DIR;
if (dir) {
  process.on('SIGWINCH', () => {
    const cmdFile = path.join(dir, `${process.pid}.cmd`);
    let cmd = 'mem';
    try {
      cmd = fs.readFileSync(cmdFile, 'utf8').trim() || 'mem';
      fs.unlinkSync(cmdFile);
    } catch {
      // no command file: a memory read
    }
    if (cmd === 'exit') {
      process.exit(0);
    }
    if (typeof global.gc === 'function') {
      global.gc();
      global.gc();
    }
    const out = path.join(dir, `${process.pid}.mem.json`);
    fs.writeFileSync(`${out}.tmp`, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
    fs.renameSync(`${out}.tmp`, out);
  });
}
