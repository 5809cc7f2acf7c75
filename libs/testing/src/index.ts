export * from './services';
export * from './wait';
export * from './processes';
export * from './clients';
export * from './faults';
export * from './cluster';
