export * from './group-commit';
export * from './cork';
