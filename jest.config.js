/** One jest run over every package (npm test writes its results to .jest-results.json), each with its own configuration. */
/** @type {import('jest').Config} */
module.exports = {
  projects: [
    '<rootDir>/packages/destinations',
    '<rootDir>/packages/ortto-sandbox',
    '<rootDir>/packages/local-pipeline',
    '<rootDir>/test'
  ]
}
