// Two projects: `unit` needs nothing running; `temporal` gets a real dev server from its global setup.
// execa 9, Octokit, jose and their dependencies are ESM-only: swc compiles them to CommonJS for jest, while plain Node
// (>= 20.19) loads them natively through require(esm).
const esmOnly = [
  'execa',
  'is-stream',
  'npm-run-path',
  'strip-final-newline',
  'unicorn-magic',
  'figures',
  'get-stream',
  'human-signals',
  'is-plain-obj',
  'parse-ms',
  'pretty-ms',
  'yoctocolors',
  '@sindresorhus/merge-streams',
  'is-unicode-supported',
  'path-key',
  '@sec-ant/readable-stream',
  // Octokit (the forge's GitHub client) and jose (the scripted forge's JWT check)
  '@octokit',
  'universal-user-agent',
  'universal-github-app-jwt',
  'before-after-hook',
  'toad-cache',
  'json-with-bigint',
  'content-type',
  'jose',
];
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)sx?$': '@swc/jest' },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: { '^unicorn-magic$': '<rootDir>/node_modules/unicorn-magic/node.js' },
};
module.exports = {
  testTimeout: 60_000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.temporal\\.test\\.ts$'],
    },
    {
      ...shared,
      displayName: 'temporal',
      testMatch: ['<rootDir>/test/**/*.temporal.test.ts'],
      globalSetup: '<rootDir>/test/support/temporal-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/temporal-global-teardown.ts',
      setupFiles: ['<rootDir>/test/support/quiet-runtime.ts'],
    },
  ],
};
