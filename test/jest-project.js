// The jest settings every project of the root jest run shares (jest.config.js lists the projects:
// each package, and this folder). A project adds its name and where its suites are.
const path = require('node:path')

/** @returns {import('jest').Config} */
module.exports = (project) => ({
  preset: 'ts-jest',
  testEnvironment: 'node',
  testEnvironmentOptions: {
    // nock's interceptors live on the global scope for the whole run; jest's soft clean-up warns about them.
    globalsCleanup: 'off',
    // The workspace packages resolve to their TypeScript sources (their package.json "exports"),
    // so tests run against the code as it is, with no build first.
    customExportConditions: ['ortto-source', 'node', 'node-addons']
  },
  globalSetup: path.join(__dirname, 'global-setup.js'),
  setupFilesAfterEnv: [path.join(__dirname, 'setup-nock.ts')],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  ...project
})
