/**
 * checkMappingFile: each check of a mapping file's entries, with the exact line it prints; a file
 * with many problems lists them all; the presets written out as a file pass.
 */
import { transform } from '@segment/actions-core'
import { PIPELINE_DESTINATIONS } from '../../destinations'
import { allPresetSubscriptions, readMappingFile } from '../../subscriptions'
import type { InputField } from '@segment/actions-core'
import type { PipelineDestination } from '../../destinations'
import { checkMappingFile, formatProblem, formatProblems } from '..'
import type { MappingProblem } from '..'
import { KNOWN_DIRECTIVES } from '../directives'

const FILE = 'mappings.json'
const ACTIONS = 'upsertContact, trackActivity, syncAudience'

function problemsOf(entries: unknown): MappingProblem[] {
  const checked = checkMappingFile(FILE, JSON.stringify(entries), PIPELINE_DESTINATIONS)
  if (!('problems' in checked)) throw new Error('the file passed the check')
  return checked.problems
}

/** The lines `npm start` prints for these entries' problems. */
const linesOf = (entries: unknown) => problemsOf(entries).map(formatProblem)

/** The lines for one entry of action `partnerAction` with this mapping. */
const mappingLines = (partnerAction: string, mapping: unknown, subscribe = 'type = "identify"') =>
  linesOf([{ partnerAction, subscribe, mapping }])

/** Whether one entry with this mapping passes the check. */
function passes(partnerAction: string, mapping: unknown): boolean {
  const checked = checkMappingFile(
    FILE,
    JSON.stringify([{ partnerAction, subscribe: 'type = "identify"', mapping }]),
    PIPELINE_DESTINATIONS
  )
  return 'subscriptions' in checked
}

describe('an entry', () => {
  it.each([
    [
      'partneraction',
      'entry 0, partneraction: unknown key (did you mean partnerAction?): an entry takes name, partnerAction, subscribe, mapping'
    ],
    [
      'mappings',
      'entry 0, mappings: unknown key (did you mean mapping?): an entry takes name, partnerAction, subscribe, mapping'
    ],
    ['enabled', 'entry 0, enabled: unknown key: an entry takes name, partnerAction, subscribe, mapping']
  ])('with the unknown key %s: %s', (key, line) => {
    expect(linesOf([{ partnerAction: 'upsertContact', subscribe: 'type = "identify"', [key]: {} }])).toEqual([line])
  })

  it('names an entry by its name, or by its index when it has none', () => {
    const entries = [
      { name: 'Contacts', partnerAction: 'upsertContact', subscribe: 'type = "identify"', mapping: { evnt: 1 } },
      { partnerAction: 'upsertContact', subscribe: 'type = "identify"', mapping: { evnt: 1 } },
      { name: 7, partnerAction: 'upsertContact', subscribe: 'type = "identify"' }
    ]
    expect(linesOf(entries).map((line) => line.split(': ')[0])).toEqual([
      'entry 0 "Contacts", mapping.evnt',
      'entry 1, mapping.evnt',
      'entry 2, name'
    ])
    expect(linesOf(entries)[2]).toBe('entry 2, name: must be a string, not 7')
  })

  it.each([
    ['trackActivty', `entry 0, partnerAction: "trackActivty" is not an action (did you mean trackActivity?)`],
    [
      'upsertContactProfle',
      `entry 0, partnerAction: "upsertContactProfle" is not an action (did you mean upsertContactProfile?)`
    ],
    ['sendEmail', `entry 0, partnerAction: "sendEmail" is not an action: use one of ${ACTIONS}`],
    [42, `entry 0, partnerAction: must be a string, one of ${ACTIONS}, not 42`]
  ])('with partnerAction %j: %s', (partnerAction, line) => {
    expect(linesOf([{ partnerAction, subscribe: 'type = "track"' }])).toEqual([line])
  })

  it('with a subscribe that is missing, or not FQL, says where in the trigger', () => {
    const entries = [
      { partnerAction: 'trackActivity' },
      { name: 'Orders', partnerAction: 'trackActivity', subscribe: 'type = "track" and (event = "Order Completed"' }
    ]
    expect(linesOf(entries)).toEqual([
      'entry 0, subscribe: is missing: write the trigger in FQL, e.g. "type = \\"track\\""',
      'entry 1 "Orders", subscribe at column 20: unclosed parenthesis: "(" has no matching ")"; add one where its group ends'
    ])
    expect(problemsOf(entries)[1]).toEqual({
      file: FILE,
      index: 1,
      name: 'Orders',
      path: ['subscribe'],
      column: 20,
      message: 'unclosed parenthesis: "(" has no matching ")"; add one where its group ends'
    })
  })
})

describe('mapping keys', () => {
  it('suggests the nearest field for a misspelt key, and lists the fields for another', () => {
    expect(mappingLines('trackActivity', { evnt: { '@path': '$.event' }, colour: 'red' }, 'type = "track"')).toEqual([
      'entry 0, mapping.evnt: not a field of trackActivity (did you mean event?)',
      'entry 0, mapping.colour: not a field of trackActivity: its fields are timestamp, message_id, user_id, ' +
        'anonymous_id, enable_batching, ip, location, traits, audience_update_mode, batch_size, event, namespace, properties'
    ])
    expect(problemsOf([{ partnerAction: 'trackActivity', subscribe: 'type = "track"', mapping: { evnt: 1 } }])).toEqual(
      [
        {
          file: FILE,
          index: 0,
          path: ['mapping', 'evnt'],
          field: 'evnt',
          message: 'not a field of trackActivity (did you mean event?)'
        }
      ]
    )
  })

  it('takes onMappingSave where the action has the hook, and refuses it where it has none', () => {
    expect(passes('upsertContact', { onMappingSave: { inputs: { audience_name: 'VIP' } } })).toBe(true)
    expect(mappingLines('syncAudience', { onMappingSave: { inputs: { audience_name: 'VIP' } } })).toEqual([
      'entry 0, mapping.onMappingSave: not a field of syncAudience: syncAudience has no onMappingSave hook; remove it'
    ])
  })
})

describe("directives, by actions-core's own mapping validation", () => {
  it('says "unknown directive @tempate (did you mean @template?)" — which would fail every event at delivery', () => {
    const mapping = { event: { '@tempate': 'Shop: {{event}}' } }
    expect(mappingLines('trackActivity', mapping, 'type = "track"')).toEqual([
      'entry 0, mapping.event: unknown directive @tempate (did you mean @template?)'
    ])
    expect(() => transform(mapping, { event: 'Order Completed' })).toThrow('@tempate')
  })

  it('finds directives inside others, and lists the known ones when none is near', () => {
    const mapping = {
      message_id: { '@if': { exists: { '@path': '$.messageId' }, then: { '@pth': '$.messageId' } } },
      ip: { '@lookup': '$.context.ip' }
    }
    expect(mappingLines('trackActivity', mapping, 'type = "track"')).toEqual([
      'entry 0, mapping.message_id.@if.then: unknown directive @pth (did you mean @path?)',
      `entry 0, mapping.ip: unknown directive @lookup: use one of ${KNOWN_DIRECTIVES.join(', ')}`
    ])
  })

  it("passes on actions-core's other findings with their path", () => {
    const mapping = {
      properties: { '@path': '$.properties', order: 1 },
      traits: { '@json': { value: { '@path': '$.traits' }, mode: 'pack' } }
    }
    expect(mappingLines('trackActivity', mapping, 'type = "track"')).toEqual([
      'entry 0, mapping.properties: should only have one @-prefixed key but it has 2 keys: a directive object holds its @-key alone',
      'entry 0, mapping.traits.@json.mode: should be one of encode, decode but it is "pack"'
    ])
  })

  it('knows the directives the installed actions-core validates', () => {
    expect(KNOWN_DIRECTIVES).toEqual(
      expect.arrayContaining(['@path', '@template', '@if', '@case', '@replace', '@arrayPath'])
    )
    expect(KNOWN_DIRECTIVES).toEqual(expect.arrayContaining(['@json', '@flatten', '@merge', '@transform', '@literal']))
  })
})

describe('the onMappingSave hook', () => {
  it.each([
    [
      { inputs: { audience_nme: 'VIP' } },
      "inputs.audience_nme: not one of the hook's inputs (did you mean audience_name?): it takes audience_name"
    ],
    [
      { inputs: { audience_name: { '@path': '$.traits.plan' } } },
      'inputs.audience_name: hook values are plain values, not directives: write the value itself'
    ],
    [{ inputs: { audience_name: 7 } }, 'inputs.audience_name: must be a string, not the number 7'],
    [
      { input: { audience_name: 'VIP' } },
      'input: unknown key (did you mean inputs?): onMappingSave takes inputs and outputs'
    ],
    [{ inputs: 'VIP' }, 'inputs: must be an object, not the string "VIP"'],
    [
      { outputs: { audience: 'x' } },
      "outputs.audience: not one of the hook's outputs: it takes audience_id, audience_name"
    ]
  ])('%j: %s', (onMappingSave, line) => {
    expect(mappingLines('upsertContact', { onMappingSave })).toEqual([`entry 0, mapping.onMappingSave.${line}`])
  })

  it('refuses an onMappingSave that is not an object', () => {
    expect(mappingLines('upsertContact', { onMappingSave: 'VIP' })).toEqual([
      'entry 0, mapping.onMappingSave: must be an object, {"inputs": {…}}, not the string "VIP"'
    ])
  })

  it('takes saved outputs, as Segment stores them after the hook ran', () => {
    expect(
      passes('trackActivity', {
        onMappingSave: { inputs: { audience_name: 'VIP' }, outputs: { audience_id: 'a1', audience_name: 'VIP' } }
      })
    ).toBe(true)
  })
})

describe('required fields, once the mapping is laid over the defaults', () => {
  it.each([null, ''])('refuses a required field mapped to %j: every event would fail', (value) => {
    expect(mappingLines('trackActivity', { event: value }, 'type = "track"')).toEqual([
      `entry 0, mapping.event: is required, and ${JSON.stringify(value)} leaves it out of every event: remove it to use its default, {"@path":"$.event"}`
    ])
  })

  it('refuses Sync Audience without its computation key', () => {
    expect(mappingLines('syncAudience', { computation_key: null })).toEqual([
      'entry 0, mapping.computation_key: is required, and null leaves it out of every event: remove it to use its default, {"@path":"$.context.personas.computation_key"}'
    ])
  })

  it('takes user_id "" (contacts by anonymous id alone) while anonymous_id is mapped, and the reverse', () => {
    expect(passes('upsertContact', { user_id: '' })).toBe(true)
    expect(passes('upsertContact', { anonymous_id: null })).toBe(true)
    expect(passes('upsertContact', { user_id: '', anonymous_id: 'kiosk' })).toBe(true)
  })

  it('refuses user_id and anonymous_id both left out: each is required when the other is', () => {
    expect(mappingLines('upsertContact', { user_id: '', anonymous_id: null })).toEqual([
      'entry 0, mapping.user_id: is required when anonymous_id is left out, and "" leaves it out of every event: remove it to use its default, {"@path":"$.userId"}',
      'entry 0, mapping.anonymous_id: is required when user_id is left out, and null leaves it out of every event: remove it to use its default, {"@path":"$.anonymousId"}'
    ])
  })
})

describe("plain values have their field's type", () => {
  it.each([
    [{ enable_batching: 'yes' }, 'enable_batching: must be true or false, not the string "yes"'],
    [{ enable_batching: 'true' }, 'enable_batching: must be true or false, not the string "true"'],
    [{ audience_update_mode: 'replace' }, 'audience_update_mode: must be one of "add", "remove", not "replace"'],
    [
      { audience_update_mode: 'Add' },
      'audience_update_mode: must be one of "add", "remove", not "Add" (did you mean add?)'
    ],
    [
      { location: { country: 'NZ', statee: 'Otago' } },
      'location.statee: unknown key (did you mean state?): Location takes country, state, city, post_code, and drops any other key'
    ],
    [{ location: { country: 64 } }, 'location.country: must be a string, not the number 64'],
    [{ location: 'Dunedin' }, 'location: must be an object, not the string "Dunedin"'],
    [{ traits: ['vip'] }, 'traits: must be an object, not an array'],
    [{ timestamp: 'yesterday' }, 'timestamp: "yesterday" is not a valid date-time: write one, or map it with @path'],
    [{ ip: { address: { '@path': '$.context.ip' } } }, 'ip: must be a string, not an object']
  ])('%j: %s', (mapping, line) => {
    expect(mappingLines('upsertContact', mapping)).toEqual([`entry 0, mapping.${line}`])
  })

  it.each([
    { enable_batching: false },
    { audience_update_mode: 'remove' },
    { location: { country: 'NZ', city: { '@path': '$.traits.town' } } },
    { timestamp: '2024-05-01T12:00:00Z' },
    { ip: null, location: '', traits: { plan: 'pro', since: { '@path': '$.traits.created_at' } } }
  ])('takes %j', (mapping) => {
    expect(passes('upsertContact', mapping)).toBe(true)
  })
})

describe('batch settings', () => {
  it.each([
    [1000, 'the number 1000'],
    [0, 'the number 0'],
    [2.5, 'the number 2.5'],
    ['100', 'the string "100"']
  ])('refuses batch_size %j: a whole number from 1 to 500', (batchSize, shown) => {
    expect(mappingLines('syncAudience', { batch_size: batchSize })).toEqual([
      `entry 0, mapping.batch_size: must be a whole number from 1 to 500 (Ortto takes at most 500 objects per request), not ${shown}`
    ])
  })

  it.each([1, 100, 500])('takes batch_size %d', (batchSize) => {
    expect(passes('syncAudience', { batch_size: batchSize, enable_batching: true })).toBe(true)
  })
})

describe('a whole file', () => {
  it('lists every problem of every entry at once, in order', () => {
    const entries = [
      {
        name: 'Purchases',
        partnerAction: 'trackActivity',
        subscribe: 'type == "track"',
        mapping: { event: { '@tempate': 'x' } }
      },
      'trackActivity',
      { partneraction: 'upsertContact', subscribe: 'type = "identify"' },
      { partnerAction: 'upsertContact', subscribe: 'type = "identify"', mapping: { user_id: 3, batch_size: 501 } }
    ]
    const problems = problemsOf(entries)
    expect(formatProblems(FILE, problems)).toBe(
      [
        'mapping file mappings.json has 7 problems:',
        '  - entry 0 "Purchases", subscribe at column 6: == is not an FQL operator: write =',
        '  - entry 0 "Purchases", mapping.event: unknown directive @tempate (did you mean @template?)',
        '  - entry 1: must be an object, {"partnerAction": …, "subscribe": …}, not "trackActivity"',
        '  - entry 2, partneraction: unknown key (did you mean partnerAction?): an entry takes name, partnerAction, subscribe, mapping',
        `  - entry 2, partnerAction: is missing: add the action's key, one of ${ACTIONS}`,
        '  - entry 3, mapping.user_id: must be a string, not the number 3',
        '  - entry 3, mapping.batch_size: must be a whole number from 1 to 500 (Ortto takes at most 500 objects per request), not the number 501'
      ].join('\n')
    )
    expect(problems.every((problem) => problem.file === FILE)).toBe(true)
  })

  it('quotes a long value cut short, on one line', () => {
    const long = 'x'.repeat(100)
    expect(linesOf([long])).toEqual([
      `entry 0: must be an object, {"partnerAction": …, "subscribe": …}, not "${'x'.repeat(58)}…`
    ])
  })

  it('says "1 problem" for one', () => {
    expect(formatProblems(FILE, problemsOf([{ partnerAction: 'upsertContact', subscribe: '' }]))).toBe(
      'mapping file mappings.json has 1 problem:\n  - entry 0, subscribe: is empty: write a condition, e.g. type = "track" and event = "Order Completed"'
    )
  })

  it('passes the presets of both destinations written out as a file, with their subscriptions', () => {
    const presets = allPresetSubscriptions(PIPELINE_DESTINATIONS).map(
      ({ name, partnerAction, subscribe, mapping }) => ({
        name,
        partnerAction,
        subscribe,
        mapping
      })
    )
    const checked = checkMappingFile(FILE, JSON.stringify(presets, null, 2), PIPELINE_DESTINATIONS)
    expect(checked).not.toHaveProperty('problems')
    if (!('subscriptions' in checked)) throw new Error('the presets did not pass')
    expect(checked.subscriptions.map(({ destination, ...rest }) => ({ ...rest, folder: destination.folder }))).toEqual(
      presets.map((preset, i) => ({ ...preset, folder: i < 2 ? 'ortto' : 'ortto-audiences' }))
    )
  })
})

describe('readMappingFile: what a reload calls, on text it read itself', () => {
  it('answers the problems of a bad file without throwing', () => {
    const read = readMappingFile(
      FILE,
      '[{"partnerAction": "trackActivity", "subscribe": "type = track"}]',
      PIPELINE_DESTINATIONS
    )
    expect(read).toEqual({
      problems: [
        {
          file: FILE,
          index: 0,
          path: ['subscribe'],
          column: 8,
          message: 'the value track is not in quotes: write "track"'
        }
      ]
    })
  })

  it('answers subscriptions that match events for a good one', () => {
    const text = JSON.stringify([
      { name: 'Orders', partnerAction: 'trackActivity', subscribe: 'event = "Order Completed"' }
    ])
    const read = readMappingFile(FILE, text, PIPELINE_DESTINATIONS)
    if (!('subscriptions' in read)) throw new Error('the file did not pass')
    const [orders] = read.subscriptions
    expect(orders.name).toBe('Orders')
    expect(orders.matches({ type: 'track', event: 'Order Completed', userId: 'a' })).toBe(true)
    expect(orders.matches({ type: 'track', event: 'Viewed', userId: 'a' })).toBe(false)
  })
})

describe("the rules Ortto's fields do not use, on an action of a test destination", () => {
  const field = (type: InputField['type'], more: Partial<InputField> = {}): InputField => ({
    label: type,
    description: type,
    type,
    ...more
  })
  const testAction = {
    title: 'Test',
    description: 'An action with every kind of field rule',
    fields: {
      count: field('integer', { minimum: 1, maximum: 10 }),
      tags: field('string', { multiple: true, choices: ['a', 'b'] }),
      when: field('datetime'),
      code: field('string', { minimum: 2, maximum: 4 }),
      extra: field('object', { additionalProperties: true, properties: { known: { label: 'Known', type: 'number' } } }),
      batch_size: field('number', { minimum: 10, maximum: 100 }),
      email: field('string', {
        required: {
          match: 'any',
          conditions: [
            { fieldKey: 'phone', operator: 'is', value: undefined },
            { fieldKey: 'channel', operator: 'is', value: 'email' }
          ]
        }
      }),
      phone: field('string', { default: { '@path': '$.traits.phone' } }),
      channel: field('string', { choices: ['email', 'sms', 'push'] }),
      sender: field('string', {
        required: { conditions: [{ fieldKey: 'channel', operator: 'is_not', value: ['email'] }] }
      })
    },
    hooks: {
      onMappingSave: {
        label: 'Save',
        description: 'A hook with a required input',
        inputFields: { list: field('string', { required: true }) },
        outputTypes: { list_id: field('string') },
        performHook: () => ({ successMessage: 'saved' })
      }
    },
    perform: () => undefined
  }
  const TEST_DESTINATION = {
    folder: 'test',
    definition: { name: 'Test', mode: 'cloud', authentication: undefined, actions: { testAction } },
    metadata: {},
    takesWhat: 'every event',
    takes: () => true
  } as unknown as PipelineDestination

  const linesFor = (mapping: unknown) => {
    const entries = [{ partnerAction: 'testAction', subscribe: 'type = "track"', mapping }]
    const checked = checkMappingFile(FILE, JSON.stringify(entries), [TEST_DESTINATION])
    return 'problems' in checked ? checked.problems.map(formatProblem) : []
  }

  it('takes what fits', () => {
    const mapping = {
      count: 10,
      code: 'NZ',
      tags: 'a',
      when: 1714560000,
      extra: { known: 1, other: 'kept' },
      batch_size: 100,
      channel: 'sms',
      sender: 'Shop',
      onMappingSave: { inputs: { list: 'VIP' }, outputs: { list_id: 'l1' } }
    }
    expect(linesFor(mapping)).toEqual([])
    expect(linesFor({ when: '2024-05-01T12:00:00Z', tags: ['a', 'b'], email: { '@path': '$.traits.email' } })).toEqual(
      []
    )
  })

  it.each([
    [{ count: 2.5 }, 'count: must be a whole number, not the number 2.5'],
    [{ count: 0 }, 'count: must be at least 1, not 0'],
    [{ count: 11 }, 'count: must be at most 10, not 11'],
    [{ code: 'X' }, 'code: must be at least 2 characters, not 1'],
    [{ code: 'ABCDE' }, 'code: must be at most 4 characters, not 5'],
    [{ tags: ['a', 'c'] }, 'tags.1: must be one of "a", "b", not "c"'],
    [{ tags: 'c' }, 'tags: must be one of "a", "b", not "c"'],
    [{ when: 'soon' }, 'when: "soon" is not a valid date and time: write one, or map it with @path'],
    [
      { when: true },
      'when: must be a date and time (a string such as "2024-05-01T12:00:00Z", or a number of seconds), not the boolean true'
    ],
    [{ extra: { known: 'x', other: 1 } }, 'extra.known: must be a number, not the string "x"'],
    [{ batch_size: 5 }, 'batch_size: must be a whole number from 10 to 100, not the number 5'],
    [{ channel: 'email' }, 'email: is required when phone is left out or channel is "email": map it'],
    [{ phone: '' }, 'email: is required when phone is left out or channel is "email": map it'],
    [{ channel: 'push' }, 'sender: is required when channel is not ["email"]: map it'],
    [
      { onMappingSave: { inputs: {} } },
      'onMappingSave.inputs.list: is required by the onMappingSave hook: give it a value'
    ]
  ])('%j: %s', (mapping, line) => {
    expect(linesFor(mapping)).toEqual([`entry 0, mapping.${line}`])
  })
})
