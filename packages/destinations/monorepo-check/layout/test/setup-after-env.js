// The package-wide nock setup every destination's tests run under there.
const nock = require('nock')

beforeAll(() => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
})

beforeEach(() => {
  nock.cleanAll()
})

afterAll(() => {
  nock.restore()
})
