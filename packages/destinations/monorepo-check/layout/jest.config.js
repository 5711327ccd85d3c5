// As in packages/destination-actions: every *.test.ts under src, helpers ignored, tests
// transpiled one file at a time (isolatedModules, no type check), a package-wide nock setup.
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/__helpers__/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  setupFilesAfterEnv: ['<rootDir>/test/setup-after-env.js'],
  globals: { 'ts-jest': { isolatedModules: true } }
}
