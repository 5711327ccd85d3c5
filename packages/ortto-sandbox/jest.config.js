module.exports = require('../../test/jest-project')({ displayName: 'ortto-sandbox', roots: ['<rootDir>/src'] })
