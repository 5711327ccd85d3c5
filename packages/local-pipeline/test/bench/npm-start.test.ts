/** The Node flags the engine benchmark starts the pipeline with are the ones `npm start` gives it (bench/npm-start.ts). */
import * as path from 'node:path'
import { nodeFlagsOf, npmStartNodeFlags } from '../../bench/npm-start'

const ENTRY = 'packages/local-pipeline/dist/src/pipeline/start.js'

describe('nodeFlagsOf', () => {
  it('reads the flags between node and the pipeline entry, after the build', () => {
    expect(nodeFlagsOf(`tsc -b x.json && node --max-semi-space-size=64 --trace-gc ${ENTRY}`)).toEqual([
      '--max-semi-space-size=64',
      '--trace-gc'
    ])
  })

  it('gives none when node runs the entry without flags', () => {
    expect(nodeFlagsOf(`node ${ENTRY}`)).toEqual([])
  })

  it('says what it looked for when the script does not run the pipeline', () => {
    expect(() => nodeFlagsOf('node other.js')).toThrow(
      `the root package.json's start script does not run "node … ${ENTRY}": "node other.js"`
    )
  })

  it('refuses a word before the entry that is not a flag', () => {
    expect(() => nodeFlagsOf(`node ./x.js ${ENTRY}`)).toThrow(
      `the start script's "./x.js" before ${ENTRY} is not a Node flag`
    )
  })
})

describe('npmStartNodeFlags', () => {
  it("gives the pipeline a young generation of 64 MiB semi-spaces, as the root package.json's npm start does", () => {
    // Events wait in lanes for their batch across several scavenges: with the default semi-spaces
    // they are copied and promoted, and old-space collections follow (README, the engine's CPU).
    expect(npmStartNodeFlags(path.join(__dirname, '..', '..', '..', '..'))).toEqual(['--max-semi-space-size=64'])
  })
})
