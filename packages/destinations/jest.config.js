module.exports = require('../../test/jest-project')({
  displayName: 'destinations',
  roots: ['<rootDir>/src', '<rootDir>/test']
})
