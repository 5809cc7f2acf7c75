// The test harness (libs/testing) the benchmark shares with the e2e tests: processes in their own
// groups, free ports, waiting, metrics, clean-up. `npm run bench` first compiles it into
// dist-testing/ (`npm run build:testing`).
export * from '../../dist-testing/libs/testing/src/index.js';
