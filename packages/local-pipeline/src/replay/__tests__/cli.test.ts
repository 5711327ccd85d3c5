/**
 * `npm run replay` as a command: what it needs is checked before anything is sent, each problem
 * with what to do, and its exit code says how the replay ended.
 */
import { writeFileSync } from 'node:fs'
import { tempDir, waitFor } from '../../../test/helpers/pipeline-helpers'
import { replayStandIn, takenAnswer, type ReplayStandIn } from '../../../test/helpers/replay-stand-in'
import { spawnTs } from '../../../../../test/helpers/run-ts'

let folder: ReturnType<typeof tempDir>
let standIn: ReplayStandIn | undefined
beforeEach(() => {
  folder = tempDir('replay-cli-')
})
afterEach(async () => {
  await standIn?.close()
  standIn = undefined
  folder.remove()
})

async function runCli(args: string[], env: Record<string, string | undefined>) {
  const replay = spawnTs('packages/local-pipeline/src/replay/cli.ts', args, { PATH: process.env.PATH, ...env })
  const { code } = await replay.exited
  return { code, stdout: replay.stdout.join('\n'), stderr: replay.stderr.join('\n') }
}

it.each([
  [
    'no write key',
    ['<file>'],
    {},
    'SEGMENT_WRITE_KEY is not set: replay sends with the pipeline\'s write key, which npm start prints ("Write key …").'
  ],
  ['no file', [], { SEGMENT_WRITE_KEY: 'k' }, 'Name at least one FILE to replay.'],
  ['a missing file', ['<file>-missing'], { SEGMENT_WRITE_KEY: 'k' }, '<file>-missing cannot be read (ENOENT).'],
  [
    '--checkpoint with two files',
    ['--checkpoint', 'c', '<file>', '<file>'],
    { SEGMENT_WRITE_KEY: 'k' },
    '--checkpoint names one checkpoint, so it takes one FILE (got 2); without it each file has its own.'
  ],
  [
    'a PIPELINE_URL that is not http',
    ['<file>'],
    { SEGMENT_WRITE_KEY: 'k', PIPELINE_URL: 'ftp://host' },
    'PIPELINE_URL must be an http:// or https:// URL such as http://127.0.0.1:3000 (got "ftp://host").'
  ],
  [
    'a bad --in-flight',
    ['--in-flight', '0', '<file>'],
    { SEGMENT_WRITE_KEY: 'k' },
    '--in-flight must be a whole number from 1 to 16 (got "0")'
  ]
])('refuses %s before sending anything, saying what to do', async (_, args, env, message) => {
  const file = folder.file('events.ndjson')
  writeFileSync(file, '{"type":"identify","userId":"a"}\n')
  const result = await runCli(
    args.map((arg) => arg.replace('<file>', file)),
    env
  )
  expect(result.code).toBe(1)
  expect(result.stderr.split('\n')[0]).toBe(message.replace('<file>', file))
  expect(result.stderr).toContain('Usage: npm run replay -- [options] FILE…')
})

it('prints the summary and exits 2 when lines were refused, and sends with the write key', async () => {
  standIn = await replayStandIn('cli-key')
  const file = folder.file('events.ndjson')
  writeFileSync(file, '{"type":"identify","userId":"a","messageId":"m-1"}\nnope\n')
  const result = await runCli([file], { SEGMENT_WRITE_KEY: 'cli-key', PIPELINE_URL: standIn.url })
  expect(result.code).toBe(2)
  expect(result.stdout).toBe(
    [
      `${file}: 1 event sent, 1 line refused:`,
      '  1 × not valid JSON (line 2)',
      'In all: 1 event sent, 1 line refused, from 1 file.'
    ].join('\n')
  )
  expect(standIn.acknowledged).toEqual(['m-1'])
  expect(result.stderr).toContain(`replay: ${file}: 100%, 2/2 lines, 1 events sent`)
})

it('stops at Ctrl+C while the pipeline asks it to wait, with exit code 130, and a rerun resumes', async () => {
  let waitAsked = false
  standIn = await replayStandIn('cli-key', (request) => {
    if (request.number !== 2 || waitAsked) return takenAnswer(request.events.length)
    waitAsked = true
    return { status: 503, headers: { 'retry-after': '60' }, body: {} }
  })
  const file = folder.file('events.ndjson')
  const lines = [1, 2, 3, 4].map((n) => JSON.stringify({ type: 'identify', userId: `u${n}`, messageId: `m-${n}` }))
  writeFileSync(file, `${lines.join('\n')}\n`)
  const env = { PATH: process.env.PATH, SEGMENT_WRITE_KEY: 'cli-key', PIPELINE_URL: standIn.url }
  const replay = spawnTs(
    'packages/local-pipeline/src/replay/cli.ts',
    ['--batch-events', '2', '--in-flight', '1', file],
    env
  )
  await waitFor('the wait it was asked for', () => replay.stderr.some((line) => line.includes('Retry-After')))
  replay.child.kill('SIGINT')
  expect((await replay.exited).code).toBe(130)
  expect(replay.stdout.join('\n')).toContain(
    `Interrupted in ${file}; what the pipeline acknowledged is in ${file}.replay-checkpoint.`
  )
  const rerun = await runCli([file], env)
  expect(rerun.code).toBe(0)
  expect(standIn.acknowledged).toEqual(['m-1', 'm-2', 'm-3', 'm-4'])
}, 60_000)
