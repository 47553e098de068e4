// Three tiers (jest projects), chosen by file name:
// - unit:     test/**/*.test.ts that are none of the below; nothing running, no harness binary, no server.
// - workflow: *.workflow.test.ts; the interpreter on a real dev server with the scripted stand-in for the
//             harness (no harness process), and the replay of the recorded histories.
// - e2e:      *.temporal.test.ts and *.e2e.test.ts; the real Codex and Claude binaries, `sop` processes,
//             workers killed, dev servers restarted.
// The workflow and e2e tiers share one dev server per jest run (their global setup runs once).
// SOP_TEST_TIER=unit|workflow|e2e (a comma list too) keeps only those projects: the npm scripts test:unit,
// test:workflow and test:e2e use it, since `--selectProjects NAME FILE` would read FILE as a project name.
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
  // the console: marked (its markdown renderer); @fastify/cookie loads cookie 1.x/2.x with import()
  'marked',
  '@fastify/cookie',
  'cookie',
];
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)sx?$': '@swc/jest' },
  // a copy nested in another package's node_modules (cookie in light-my-request's) is transformed too
  transformIgnorePatterns: [
    `/node_modules/(?!(${esmOnly.join('|')})/)(?!.*/node_modules/(${esmOnly.join('|')})/)`,
  ],
  moduleNameMapper: {
    '^unicorn-magic$': '<rootDir>/node_modules/unicorn-magic/node.js',
    // exports only an `import` condition: Node loads it by import() (signature.ts), jest by its file
    '^@octokit/webhooks-methods$': '<rootDir>/node_modules/@octokit/webhooks-methods/dist-node/index.js',
  },
};
const withServer = {
  ...shared,
  globalSetup: '<rootDir>/test/support/temporal-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/temporal-global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/quiet-runtime.ts', '<rootDir>/test/support/worker-queue.ts'],
};
const tiers = {
  unit: {
    ...shared,
    displayName: 'unit',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    testPathIgnorePatterns: ['\\.(temporal|workflow|e2e)\\.test\\.ts$'],
  },
  workflow: {
    ...withServer,
    displayName: 'workflow',
    testMatch: ['<rootDir>/test/**/*.workflow.test.ts'],
  },
  e2e: {
    ...withServer,
    displayName: 'e2e',
    testMatch: ['<rootDir>/test/**/*.temporal.test.ts', '<rootDir>/test/**/*.e2e.test.ts'],
  },
};
const chosen = (process.env.SOP_TEST_TIER || Object.keys(tiers).join(',')).split(',').map((t) => t.trim());
for (const tier of chosen) {
  if (!tiers[tier]) throw new Error(`SOP_TEST_TIER=${tier} is not a tier: use unit, workflow or e2e`);
}
module.exports = {
  testTimeout: 60_000,
  // jest's default on 2 cores is one file at a time; two at a time measured 1.4x (unit), 1.4x (workflow) and
  // 1.8x (e2e: mostly waiting on processes) faster there. Files share nothing: each test worker polls a task
  // queue of its own, and a `sop` command a test starts uses its jest worker's default queue (worker-queue.ts).
  // SOP_TEST_WORKERS overrides it (measuring another count).
  maxWorkers:
    Number(process.env.SOP_TEST_WORKERS) || Math.max(2, require('node:os').availableParallelism() - 1),
  projects: chosen.map((tier) => tiers[tier]),
};
