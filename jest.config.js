/** One jest run over every package (npm test writes its results to .jest-results.json), each with its own configuration. */
/** @type {import('jest').Config} */
module.exports = {
  projects: [
    '<rootDir>/packages/destinations',
    '<rootDir>/packages/ortto-sandbox',
    '<rootDir>/packages/local-pipeline',
    '<rootDir>/test'
  ],
  // jest-circus reads the timeout from the run's global configuration, not from a project's: the
  // projects' own 30 s (test/jest-project.js) counts only when a package's jest runs alone.
  testTimeout: 30_000
}
