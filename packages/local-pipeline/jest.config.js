module.exports = require('../../test/jest-project')({
  displayName: 'local-pipeline',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
    // The console's browser code is plain ES modules with no build step; its unit tests load them
    // through ts-jest, which turns their imports into CommonJS for jest.
    '/console/static/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022' } }]
  }
})
