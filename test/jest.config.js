// The suites of the shared jest set-up itself (time zone, CI mode), beside the packages' own.
module.exports = require('./jest-project')({ displayName: 'workspace', rootDir: __dirname })
