// NestJS 12 ships ESM-only packages; Jest's CJS runtime on Node 20 cannot require() them, so the
// @nestjs packages (and their ESM-only dependencies), and jose, are transpiled to CJS by babel on load.
const esmPackages = [
  '@nestjs',
  'file-type',
  'uid',
  'load-esm',
  'strtok3',
  'token-types',
  '@tokenizer',
  'uint8array-extras',
  'jose',
];
const base = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
    '^.+\\.js$': [
      'babel-jest',
      {
        babelrc: false,
        configFile: false,
        // `module: 'ES6'` turns import.meta.url into an import of node:url, which the CommonJS
        // transform hoists: the default (`require('url')` in place) breaks a module that declares
        // its own `const require = createRequire(import.meta.url)`, as @nestjs/terminus 12 does.
        plugins: [
          ['babel-plugin-transform-import-meta', { module: 'ES6' }],
          '@babel/plugin-transform-modules-commonjs',
        ],
      },
    ],
  },
  // Skip node_modules except where the innermost package holding the file is one of those: a
  // nested copy (node_modules/@nestjs-modules/ioredis/node_modules/@nestjs/terminus) counts by its
  // own name, not by its parent's.
  transformIgnorePatterns: [
    `^(?!.*/node_modules/(?:${esmPackages.join('|')})/(?:(?!/node_modules/).)*$).*/node_modules/`,
  ],
  moduleNameMapper: {
    '^@roomcast/(.*)$': '<rootDir>/libs/$1/src',
  },
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
};
module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['**/*.spec.ts'] },
    { ...base, displayName: 'int', testMatch: ['**/*.int-spec.ts'] },
    { ...base, displayName: 'e2e', testMatch: ['**/*.e2e-spec.ts'] },
    { ...base, displayName: 'faults', testMatch: ['**/*.fault-spec.ts'] },
    // Redis Cluster tests start and stop clusters of their own (npm run test:cluster).
    { ...base, displayName: 'cluster', testMatch: ['**/*.cluster-spec.ts'] },
  ],
};
