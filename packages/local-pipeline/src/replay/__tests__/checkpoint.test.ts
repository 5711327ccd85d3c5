/**
 * The checkpoint's bookkeeping: batches acknowledged out of order join the acknowledged prefix
 * once the gap closes, writes replace the file whole, and tallies add up with bounded detail.
 */
import { readdirSync, writeFileSync } from 'node:fs'
import { tempDir } from '../../../test/helpers/pipeline-helpers'
import { Acknowledgements, CheckpointFile, newCheckpoint, readCheckpoint } from '../checkpoint'
import type { SourceLine } from '../line-source'
import { addTally, emptyTally, fileSummary, refuse } from '../tally'

let folder: ReturnType<typeof tempDir>
beforeEach(() => {
  folder = tempDir('replay-checkpoint-')
})
afterEach(() => folder.remove())

/** Lines of 10 bytes each: line n spans [10(n-1), 10n). */
const line = (number: number): SourceLine => ({
  number,
  start: (number - 1) * 10,
  end: number * 10,
  text: `line ${String(number).padStart(4)}`
})
const batch = (first: number, last: number) => ({
  from: { offset: line(first).start, line: first },
  to: { offset: line(last).end, line: last + 1 }
})

it('joins batches acknowledged out of order to the prefix once the ones before them are in', async () => {
  const file = folder.file('events.ndjson')
  writeFileSync(file, 'x'.repeat(100))
  const state = await newCheckpoint(file, 'plain')
  const acks = new Acknowledgements(state)
  const counted = (n: number) => (tally: ReturnType<typeof emptyTally>) => void (tally.sent += n)

  acks.add(batch(4, 6), line(6), counted(3))
  expect(state.acknowledged).toEqual({ offset: 0, line: 1 })
  expect(acks.rangeHolding(line(5))).toEqual(batch(4, 6))
  expect(acks.rangeHolding(line(3))).toBeUndefined()

  acks.add(batch(7, 9), line(9), counted(3))
  acks.add(batch(1, 3), line(3), counted(3))
  expect(state.acknowledged).toEqual({ offset: 90, line: 10 })
  expect(state.ahead).toEqual([])
  expect(state.last).toMatchObject({ number: 9, start: 80, end: 90 })
  expect(state.tally.sent).toBe(9)
})

it('writes the checkpoint whole, leaving no temporary file, and reads it back', async () => {
  const file = folder.file('events.ndjson')
  writeFileSync(file, '{}\n')
  const where = folder.file('events.ndjson.replay-checkpoint')
  const checkpoints = new CheckpointFile(where)
  const state = await newCheckpoint(file, 'plain')
  await Promise.all([1, 2, 3].map((sent) => checkpoints.save({ ...state, tally: { ...state.tally, sent } })))
  expect((await readCheckpoint(where))?.tally.sent).toBe(3)
  expect(readdirSync(folder.dir).sort()).toEqual(['events.ndjson', 'events.ndjson.replay-checkpoint'])
})

it('adds tallies, keeping ten line numbers per reason and fifty reasons', () => {
  const total = emptyTally()
  const more = emptyTally()
  for (let n = 1; n <= 12; n++) refuse(more, 'not valid JSON', n)
  for (let n = 0; n < 60; n++) refuse(more, `reason ${n}`, 100 + n)
  addTally(total, more)
  addTally(total, more)
  expect(total.refused['not valid JSON']).toEqual({ count: 24, lines: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] })
  expect(Object.keys(total.refused)).toHaveLength(51)
  expect(total.refused['(other reasons)'].count).toBe(22)
  expect(fileSummary('f', total, 0)[1]).toBe(
    '  24 × not valid JSON (lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … (the first 10))'
  )
})
