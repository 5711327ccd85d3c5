/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  // nock's interceptors live on the global scope for the whole run; jest's soft clean-up warns about them.
  testEnvironmentOptions: { globalsCleanup: 'off' },
  roots: [
    '<rootDir>/packages/destinations/src',
    '<rootDir>/packages/destinations/test',
    '<rootDir>/packages/ortto-sandbox/src',
    '<rootDir>/packages/local-pipeline/src',
    '<rootDir>/packages/local-pipeline/test',
    '<rootDir>/test'
  ],
  globalSetup: '<rootDir>/test/global-setup.js',
  setupFilesAfterEnv: ['<rootDir>/test/setup-nock.ts'],
  testMatch: ['**/*.test.ts'],
  // Suites over real sockets wait for retries with their own deadlines (up to 20 s); jest's 5 s
  // default would cut those waits short on a loaded two-core machine.
  testTimeout: 30_000,
  testPathIgnorePatterns: ['/node_modules/', '/dist/']
}
