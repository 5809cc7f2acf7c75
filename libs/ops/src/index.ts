export * from './ops.module';
export * from './dependency-metrics';
