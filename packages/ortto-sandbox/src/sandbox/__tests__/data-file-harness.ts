/**
 * What the data file suites share: a fresh folder per test with a data file path in it, sandboxes
 * started over it (all stopped after the test), and ways to look at the file as a restart would.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { SandboxDataError, startSandbox } from '../index'
import type { Sandbox, SandboxState } from '../index'
import type { JournalEntry } from '../data-file/format'
import { postJson } from '../../../../../test/helpers/http-client'

export interface DataFileHarness {
  /** This test's own folder, and the data file path in it (no file yet). */
  readonly folder: string
  readonly dataFile: string
  start: (file?: string) => Promise<Sandbox>
  /** The SandboxDataError a sandbox over `file` refuses to start with (fails the test if it starts). */
  startError: (file?: string) => Promise<SandboxDataError>
  /** The file's lines, without empty ones. */
  lines: (file?: string) => Promise<string[]>
  /**
   * The state a sandbox would start with from the file as it is right now, as if the running one
   * had been killed this instant: a copy of the file, loaded by a second sandbox.
   */
  stateAfterKill: (file?: string) => Promise<SandboxState>
}

export function dataFileHarness(): DataFileHarness {
  let folder = ''
  let dataFile = ''
  const started: Sandbox[] = []

  beforeEach(async () => {
    folder = await fs.mkdtemp(path.join(os.tmpdir(), 'ortto-sandbox-'))
    dataFile = path.join(folder, 'state.json')
  })

  afterEach(async () => {
    await Promise.all(started.splice(0).map((sandbox) => sandbox.stop().catch(() => undefined)))
    // Undo any read-only marks, so the folder can be removed by a user who is not root.
    await fs.chmod(folder, 0o755).catch(() => undefined)
    for (const name of await fs.readdir(folder, { recursive: true }).catch(() => [])) {
      await fs.chmod(path.join(folder, name), 0o755).catch(() => undefined)
    }
    await fs.rm(folder, { recursive: true, force: true })
  })

  const start = async (file = dataFile): Promise<Sandbox> => {
    const sandbox = await startSandbox({ dataFile: file })
    started.push(sandbox)
    return sandbox
  }

  return {
    get folder() {
      return folder
    },
    get dataFile() {
      return dataFile
    },
    start,
    startError: async (file = dataFile) => {
      const error: unknown = await start(file).then(
        () => undefined,
        (e: unknown) => e
      )
      expect(error).toBeInstanceOf(SandboxDataError)
      return error as SandboxDataError
    },
    lines: async (file = dataFile) => {
      return (await fs.readFile(file, 'utf8')).split('\n').filter((line) => line !== '')
    },
    stateAfterKill: async (file = dataFile) => {
      const copy = path.join(folder, `copy-${randomUUID()}.json`)
      await fs.copyFile(file, copy)
      const sandbox = await start(copy)
      const state = sandbox.snapshot()
      await sandbox.stop()
      await fs.rm(copy)
      return state
    }
  }
}

/** Posts and expects 200; the answer's JSON. */
export async function ok(url: string, requestPath: string, body: unknown): Promise<unknown> {
  const answer = await postJson(url, requestPath, body)
  // The body shows in the failure message.
  expect({ requestPath, status: answer.status, body: answer.text }).toMatchObject({ status: 200 })
  return answer.json
}

/** Lines written to stderr while `action` runs (the sandbox reports data file trouble there). */
export async function stderrOf(action: () => Promise<void>): Promise<string[]> {
  const lines: string[] = []
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk))
    return true
  })
  try {
    await action()
  } finally {
    write.mockRestore()
  }
  return lines
}

/** The change a version 3 journal line records. */
export const changeOf = (line: string): JournalEntry => (JSON.parse(line) as { change: JournalEntry }).change

/** A version 3 snapshot line as the bare JSON object a version 1 file holds, without its checksum. */
export function withoutChecksum(line: string): Record<string, unknown> {
  const { checksum, ...rest } = JSON.parse(line) as Record<string, unknown>
  expect(checksum).toMatch(/^[0-9a-f]{16}$/)
  return rest
}
