module.exports = require('../../test/jest-project')({
  displayName: 'local-pipeline',
  roots: ['<rootDir>/src', '<rootDir>/test']
})
