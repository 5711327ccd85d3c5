/**
 * The sandbox never answers 200 for a change its data file does not hold: not the request whose
 * save failed, not its retries (which may find nothing new to save), not any request after it,
 * until a save catches the file up. And a data file marked read-only while the sandbox runs stays
 * as it is: neither appended to nor replaced by a compaction.
 */
import { promises as fs } from 'node:fs'
import * as path from 'node:path'
import { SandboxDataError } from '../index'
import type { Sandbox, SandboxState } from '../index'
import { callSandbox, getJson, postJson } from '../../../../../test/helpers/http-client'
import type { Answer } from '../../../../../test/helpers/http-client'
import { dataFileHarness, ok, stderrOf } from './data-file-harness'

const h = dataFileHarness()

/** The data file sits in a folder of its own, which a test moves away to make every save fail. */
const dataFolder = (): string => path.join(h.folder, 'data')
const dataFile = (): string => path.join(dataFolder(), 'state.json')
const breakSaving = (): Promise<void> => fs.rename(dataFolder(), `${dataFolder()}-away`)
const repairSaving = (): Promise<void> => fs.rename(`${dataFolder()}-away`, dataFolder())

const TIMESTAMP = '2024-05-01T00:00:00.000Z'

interface Case {
  /** Sends the request (the same one each time it is called). */
  send(url: string, audienceId: string): Promise<Answer>
  /** Whether the state loaded from the file holds the change. */
  saved(state: SandboxState): boolean
}

const CASES: Array<[string, Case]> = [
  [
    'POST /v1/track (a retry is a repeated activity, which changes nothing)',
    {
      send: (url) =>
        postJson(url, '/v1/track', [{ user_id: 'u1', event: 'Bought', message_id: 'm1', timestamp: TIMESTAMP }]),
      saved: (state) => state.activities.some((activity) => activity.message_id === 'm1')
    }
  ],
  [
    'POST /v1/identify',
    {
      send: (url) => postJson(url, '/v1/identify', [{ user_id: 'u1', traits: { plan: 'pro' } }]),
      saved: (state) => state.contacts.some((contact) => contact.user_id === 'u1' && contact.traits.plan === 'pro')
    }
  ],
  [
    'PUT /v1/audiences/members',
    {
      send: (url, audienceId) =>
        callSandbox(url, 'PUT', '/v1/audiences/members', {
          body: [{ user_id: 'u1', audience: { mode: 'add', id: audienceId } }]
        }),
      saved: (state) => state.audiences.some((audience) => audience.member_ids.length === 1)
    }
  ],
  [
    'POST /v1/audiences/create (a retry finds the audience in memory, which changes nothing)',
    {
      send: (url) => postJson(url, '/v1/audiences/create', { name: 'New' }),
      saved: (state) => state.audiences.some((audience) => audience.name === 'New')
    }
  ],
  [
    'POST /sandbox/reset',
    {
      send: (url) => postJson(url, '/sandbox/reset', {}),
      saved: (state) => state.contacts.length === 0 && state.audiences.length === 0
    }
  ]
]

async function startOverDataFolder(): Promise<{ sandbox: Sandbox; audienceId: string }> {
  await fs.mkdir(dataFolder())
  const sandbox = await h.start(dataFile())
  const { id } = (await ok(sandbox.url, '/v1/audiences/create', { name: 'VIP' })) as { id: string }
  await ok(sandbox.url, '/v1/identify', [{ user_id: 'before' }])
  return { sandbox, audienceId: id }
}

describe('a change that could not be saved', () => {
  it.each(CASES)('%s: is never answered 200 while saving fails, however often it is retried', async (_r, c) => {
    const { sandbox, audienceId } = await startOverDataFolder()
    const statuses: number[] = []
    await stderrOf(async () => {
      await breakSaving()
      for (let attempt = 0; attempt < 4; attempt++) statuses.push((await c.send(sandbox.url, audienceId)).status)
    })
    expect(statuses).toEqual([500, 500, 500, 500])

    await repairSaving()
    const answer = await c.send(sandbox.url, audienceId)
    expect({ status: answer.status, body: answer.text }).toMatchObject({ status: 200 })
    // As a restart after kill -9 this instant would find it.
    expect(c.saved(await h.stateAfterKill(dataFile()))).toBe(true)
  })

  it('is answered 500 with the reason, and a request that changes nothing is not answered 200 either', async () => {
    const { sandbox, audienceId } = await startOverDataFolder()
    let answers: Answer[] = []
    await stderrOf(async () => {
      await breakSaving()
      answers = [
        await postJson(sandbox.url, '/v1/audiences/create', { name: 'New' }),
        // Memory has the audience; the file does not, so its lookup may not confirm it...
        await postJson(sandbox.url, '/v1/audiences/get', {
          id: ((await getJson(sandbox.url, '/sandbox/audiences?name=New')).json as { audiences: Array<{ id: string }> })
            .audiences[0].id
        }),
        // ...nor may anything else be acknowledged while the file lags behind memory.
        await postJson(sandbox.url, '/v1/audiences/get', { id: audienceId })
      ]
    })
    expect(answers.map((answer) => answer.status)).toEqual([500, 500, 500])
    expect(answers[0].json).toEqual({
      error: {
        code: 'not-saved',
        message: expect.stringMatching(
          /^the change was not saved: Could not save the sandbox data file .*state\.json: /
        )
      }
    })
    await repairSaving()
    expect((await postJson(sandbox.url, '/v1/audiences/get', { id: audienceId })).status).toBe(200)
  })

  it('is not acknowledged through a retry sent while its own save is still under way', async () => {
    const { sandbox } = await startOverDataFolder()
    const track = () =>
      postJson(sandbox.url, '/v1/track', [{ user_id: 'u1', event: 'Bought', message_id: 'm1', timestamp: TIMESTAMP }])
    let statuses: number[] = []
    await stderrOf(async () => {
      await breakSaving()
      // The second arrives while the first one's save is pending; it changes nothing, as a repeat.
      statuses = (await Promise.all([track(), track(), track()])).map((answer) => answer.status)
    })
    expect(statuses).toEqual([500, 500, 500])
    await repairSaving()
    expect((await track()).status).toBe(200)
    expect((await h.stateAfterKill(dataFile())).activities.map((activity) => activity.message_id)).toEqual(['m1'])
  })
})

describe('stop()', () => {
  it('fails when its final save fails, though every change before it was saved', async () => {
    const { sandbox } = await startOverDataFolder()
    await breakSaving()
    await stderrOf(async () => {
      await expect(sandbox.stop()).rejects.toThrow(/^Could not save the sandbox data file .*state\.json: /)
    })
  })
})

describe('a data file marked read-only while the sandbox runs', () => {
  async function markedReadOnly(): Promise<{ sandbox: Sandbox; before: { text: string; ino: number } }> {
    const sandbox = await h.start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u1' }])
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u2' }])
    await fs.chmod(h.dataFile, 0o444)
    return { sandbox, before: { text: await fs.readFile(h.dataFile, 'utf8'), ino: (await fs.stat(h.dataFile)).ino } }
  }

  async function expectUntouched(before: { text: string; ino: number }): Promise<void> {
    const stat = await fs.stat(h.dataFile)
    expect({ ino: stat.ino, mode: stat.mode & 0o777 }).toEqual({ ino: before.ino, mode: 0o444 })
    expect(await fs.readFile(h.dataFile, 'utf8')).toBe(before.text)
    expect(await fs.readdir(h.folder)).toEqual(['state.json'])
  }

  const readOnlyMessage = (file: string): string =>
    `The sandbox data file ${file} was made read-only, so it is left as it is and nothing more is saved: each ` +
    `change is answered 500 until it is writable again (chmod u+w ${file}), when the next one saves them all.`

  it('is neither appended to nor replaced; changes are answered 500 until it is writable again', async () => {
    const { sandbox, before } = await markedReadOnly()
    let answers: Answer[] = []
    const errors = await stderrOf(async () => {
      answers = [
        await postJson(sandbox.url, '/v1/identify', [{ user_id: 'u3' }]),
        await postJson(sandbox.url, '/v1/identify', [{ user_id: 'u3' }])
      ]
    })
    expect(answers.map((answer) => answer.json)).toEqual([
      { error: { code: 'not-saved', message: `the change was not saved: ${readOnlyMessage(h.dataFile)}` } },
      { error: { code: 'not-saved', message: `the change was not saved: ${readOnlyMessage(h.dataFile)}` } }
    ])
    expect(answers.map((answer) => answer.status)).toEqual([500, 500])
    expect(errors).toEqual([`ortto sandbox: ${readOnlyMessage(h.dataFile)}\n`])
    await expectUntouched(before)

    await fs.chmod(h.dataFile, 0o644)
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u4' }])
    expect((await h.stateAfterKill()).contacts.map((contact) => contact.user_id)).toEqual(['u1', 'u2', 'u3', 'u4'])
  })

  it('is not replaced by a compaction: not at a reset, nor at stop', async () => {
    const { sandbox, before } = await markedReadOnly()
    await stderrOf(async () => {
      // A reset writes the whole (empty) state as a fresh file: a rename over the read-only file.
      await expect(sandbox.reset()).rejects.toThrow(new SandboxDataError(readOnlyMessage(h.dataFile)))
      await expectUntouched(before)
      await expect(sandbox.stop()).rejects.toThrow(new SandboxDataError(readOnlyMessage(h.dataFile)))
    })
    await expectUntouched(before)
  })

  it('is not replaced through a folder marked read-only either', async () => {
    const { sandbox, before } = await markedReadOnly()
    await fs.chmod(h.dataFile, 0o644)
    await fs.chmod(h.folder, 0o555)
    await stderrOf(async () => {
      await expect(sandbox.reset()).rejects.toThrow(
        `The folder ${h.folder} of the sandbox data file ${h.dataFile} was made read-only`
      )
    })
    await fs.chmod(h.folder, 0o755)
    await fs.chmod(h.dataFile, 0o444)
    await expectUntouched(before)
  })
})
