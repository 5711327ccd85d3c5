/**
 * docs/mappings.md is true to the code: each directive example (a mapping, an event, the payload
 * it gives) is run through actions-core's mapping kit, the one delivery runs, and passes the
 * pipeline's own mapping check for its action; every directive the installed actions-core knows
 * has one; and the custom-field example's request body is what the pipeline's dry run shows for
 * its mapping file and event.
 */
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { transform } from '@segment/actions-core/mapping-kit'
import { LOCAL_ENDPOINT_ENV, ortto } from 'actions-ortto'
import { startPipeline, type Pipeline } from '../index'
import { KNOWN_DIRECTIVES } from '../mapping-check/directives'
import { mappingProblems } from '../mapping-check/mapping'
import { TEST_WRITE_KEY, post, tempDir, writeJson } from '../../../test/helpers/pipeline-helpers'

const PAGE = readFileSync(path.join(__dirname, '..', '..', '..', '..', '..', 'docs', 'mappings.md'), 'utf8')

/** The page's labelled JSON blocks (```json <label>), in order, each with the heading it is under. */
function blocks(): Array<{ label: string; heading: string; value: unknown }> {
  const found: Array<{ label: string; heading: string; value: unknown }> = []
  let heading = ''
  const pattern = /^(#{2,3} .*)$|^```json ([a-z-]+)\n([\s\S]*?)^```$/gm
  for (let match = pattern.exec(PAGE); match; match = pattern.exec(PAGE)) {
    if (match[1]) heading = match[1]
    else found.push({ label: match[2], heading, value: JSON.parse(match[3]) as unknown })
  }
  return found
}

interface Example {
  heading: string
  mapping: Record<string, unknown>
  event: Record<string, unknown>
  output: unknown
}

/** Each directive example: a mapping, then an event, then the output, under one heading. */
function directiveExamples(): Example[] {
  const examples: Example[] = []
  const labelled = blocks()
  labelled.forEach(({ label, heading }, i) => {
    if (label !== 'mapping') return
    const [event, output] = [labelled[i + 1], labelled[i + 2]]
    if (event?.label !== 'event' || output?.label !== 'output' || output.heading !== heading) {
      throw new Error(`the mapping under "${heading}" is not followed by its event and output`)
    }
    const { value: mapping } = labelled[i]
    examples.push({
      heading,
      mapping: mapping as Record<string, unknown>,
      event: event.value as Record<string, unknown>,
      output: output.value
    })
  })
  return examples
}

const EXAMPLES = directiveExamples()

describe('the directive examples of docs/mappings.md', () => {
  it('cover every directive the installed actions-core knows, one heading each', () => {
    const covered = EXAMPLES.map(({ heading }) => /^### `(@[a-zA-Z]+)`/.exec(heading)?.[1])
    expect(covered.sort()).toEqual([...KNOWN_DIRECTIVES].sort())
  })

  it.each(EXAMPLES.map((example) => [example.heading, example] as const))(
    '%s: the mapping gives the output shown, and the mapping check takes it',
    (_heading, { mapping, event, output }) => {
      expect(transform(mapping as never, event)).toEqual(output)
      const partnerAction = event.type === 'track' ? 'trackActivity' : 'upsertContact'
      expect(mappingProblems(partnerAction, ortto.actions[partnerAction], mapping)).toEqual([])
    }
  )
})

describe('the custom-field example of docs/mappings.md', () => {
  let temp: ReturnType<typeof tempDir>
  let pipeline: Pipeline | undefined

  beforeEach(() => {
    temp = tempDir('docs-mappings-')
    delete process.env[LOCAL_ENDPOINT_ENV]
  })

  afterEach(async () => {
    await pipeline?.stop()
    pipeline = undefined
    temp.remove()
  })

  it("is what the pipeline's dry run shows for its mapping file and event", async () => {
    const labelled = blocks()
    const only = (label: string) => {
      const found = labelled.filter((block) => block.label === label)
      expect(found).toHaveLength(1)
      return found[0].value
    }
    pipeline = await startPipeline(
      {
        port: 0,
        target: { kind: 'sandbox', port: 0 },
        mappingsFile: writeJson(temp.file('mappings.json'), only('mapping-file')),
        writeKey: TEST_WRITE_KEY,
        flushIntervalMs: 50,
        maxAttempts: 1
      },
      () => undefined
    )
    const plan = await post(pipeline.url, '/dry-run', labelled.filter((b) => b.label === 'event').pop()?.value)
    const [planned] = (plan.json as { events: Array<{ subscriptions: Array<{ requests: Array<{ body: string }> }> }> })
      .events
    expect(planned.subscriptions).toHaveLength(1)
    const [request] = planned.subscriptions[0].requests
    expect(JSON.parse(request.body)).toEqual(only('request'))
  })
})
