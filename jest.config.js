/** One jest run over every package (npm test writes its results to .jest-results.json), each with its own configuration. */
/** @type {import('jest').Config} */
module.exports = {
  projects: [
    '<rootDir>/packages/destinations',
    '<rootDir>/packages/ortto-sandbox',
    '<rootDir>/packages/local-pipeline',
    '<rootDir>/test'
  ],
  // Suites over real sockets wait for retries with their own deadlines (up to 20 s); jest's 5 s
  // default would cut those waits short on a loaded two-core machine. A global option: jest reads
  // no testTimeout from a project's configuration.
  testTimeout: 30_000,
  // Suites run in a worker process that is replaced once its heap passes this after a suite. Without
  // it, two cores mean one worker, so jest runs every suite in its own process ("in band"), and that
  // process keeps part of what each suite loaded once it has made HTTP requests (docs/proof.md, "What
  // `npm test` costs"): 2.1 GB of heap by the last suite and 3.3 GB resident, slowing every suite after.
  workerIdleMemoryLimit: '768MB'
}
