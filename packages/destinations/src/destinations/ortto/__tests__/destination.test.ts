import nock from 'nock'
import { createTestEvent, defaultValues, Destination } from '@segment/actions-core'
import type { JSONObject } from '@segment/actions-core'
import definition from '../index'
import { API_KEY, ORIGIN, settings } from './__helpers__/ortto'
import { ACTIVITY_DEFAULT_MAPPING, CONTACT_DEFAULT_MAPPING } from './__helpers__/default-mappings'

describe('Ortto (Actions) definition', () => {
  it('is the cloud destination the catalog lists', () => {
    expect(definition).toMatchObject({ name: 'Ortto (Actions)', slug: 'actions-ortto', mode: 'cloud' })
    expect(definition.authentication?.fields).toEqual({
      api_key: { label: 'API Key', description: 'Ortto API key', type: 'password', required: true }
    })
    expect(Object.keys(definition.actions).sort()).toEqual(['trackActivity', 'upsertContact', 'upsertContactProfile'])
  })

  it('keeps today’s catalog key upsertContactProfile as a hidden twin of upsertContact', () => {
    const { upsertContact, upsertContactProfile } = definition.actions
    expect(upsertContactProfile.hidden).toBe(true)
    expect(upsertContact.hidden).toBeUndefined()
    expect(upsertContactProfile.fields).toBe(upsertContact.fields)
    expect(upsertContactProfile.hooks).toBe(upsertContact.hooks)
    // Handlers of its own, on the same delivery path (every delivery test runs both keys), so its
    // figures are reported under its own key.
    expect(upsertContactProfile.perform).not.toBe(upsertContact.perform)
    expect(upsertContactProfile.performBatch).not.toBe(upsertContact.performBatch)
  })

  it.each(['trackActivity', 'upsertContact', 'upsertContactProfile'])(
    'makes no field of %s newly required (only what today’s catalog entry requires)',
    (slug) => {
      const required = Object.entries(definition.actions[slug].fields)
        .filter(([, field]) => field.required !== undefined && field.required !== false)
        .map(([key, field]) => [key, field.required])
      expect(required).toEqual([
        ['user_id', { conditions: [{ fieldKey: 'anonymous_id', operator: 'is', value: undefined }] }],
        ['anonymous_id', { conditions: [{ fieldKey: 'user_id', operator: 'is', value: undefined }] }],
        ...(slug === 'trackActivity' ? [['event', true]] : [])
      ])
    }
  )

  it('has the two automatic presets, mapped with each action’s default values', () => {
    expect(definition.presets).toStrictEqual([
      {
        name: 'Upsert Contact',
        type: 'automatic',
        partnerAction: 'upsertContact',
        subscribe: 'type = "identify"',
        mapping: CONTACT_DEFAULT_MAPPING
      },
      {
        name: 'Track Activity',
        type: 'automatic',
        partnerAction: 'trackActivity',
        subscribe: 'type = "track"',
        mapping: ACTIVITY_DEFAULT_MAPPING
      }
    ])
  })

  it.each([
    ['upsertContact', CONTACT_DEFAULT_MAPPING],
    ['upsertContactProfile', CONTACT_DEFAULT_MAPPING],
    ['trackActivity', ACTIVITY_DEFAULT_MAPPING]
  ])('gives %s the default mapping of the catalog', (slug, mapping) => {
    expect(defaultValues(definition.actions[slug].fields)).toStrictEqual(mapping)
  })
})

describe('testAuthentication', () => {
  const destination = new Destination(definition)

  it('accepts a key Ortto accepts on GET /v1/me', async () => {
    nock(ORIGIN).get('/v1/me').matchHeader('authorization', `Bearer ${API_KEY}`).reply(200, {})
    await expect(destination.testAuthentication(settings)).resolves.toBeUndefined()
    expect(nock.isDone()).toBe(true)
  })

  it('fails with Ortto’s reason when Ortto refuses the key', async () => {
    nock(ORIGIN)
      .get('/v1/me')
      .reply(401, { error: { message: 'API key revoked' } })
    await expect(destination.testAuthentication(settings)).rejects.toThrow(
      /refused the API key \(401\): API key revoked/
    )
  })

  it('fails a malformed key before any request', async () => {
    const me = nock(ORIGIN).get('/v1/me').reply(200, {})
    await expect(destination.testAuthentication({ api_key: 'pau' })).rejects.toThrow(
      'The Ortto API key must have a two-letter lower-case region (a–z) then a hyphen after its first letter.'
    )
    expect(me.isDone()).toBe(false)
  })
})

describe('onBatch with the presets as subscriptions (how Segment’s runtime calls the destination)', () => {
  it('sends identify events to /v1/identify and track events to /v1/track', async () => {
    const identify = nock(ORIGIN).post('/v1/identify').reply(200, {})
    const track = nock(ORIGIN).post('/v1/track').reply(200, {})
    const destination = new Destination(definition)
    const subscriptions = (definition.presets ?? []).map((preset) => ({
      partnerAction: preset.partnerAction,
      subscribe: 'subscribe' in preset ? preset.subscribe : '',
      mapping: preset.mapping
    }))
    const events = [
      createTestEvent({ type: 'identify', traits: { plan: 'pro' } }),
      createTestEvent({ type: 'track', event: 'Signed Up' })
    ]
    const results = await destination.onBatch(events, { ...settings, subscriptions } as unknown as JSONObject)
    const statuses = results.map((r) => r.multistatus?.map((m) => m.status))
    // Each subscription answers for the whole batch; the event it does not match gets a 400.
    expect(statuses).toEqual([
      [200, 400],
      [400, 200]
    ])
    expect(identify.isDone() && track.isDone()).toBe(true)
  })

  it('delivers a subscription saved under the old catalog key upsertContactProfile', async () => {
    const identify = nock(ORIGIN).post('/v1/identify').reply(200, {})
    const destination = new Destination(definition)
    const saved = {
      partnerAction: 'upsertContactProfile',
      subscribe: 'type = "identify"',
      mapping: defaultValues(definition.actions.upsertContactProfile.fields)
    }
    const event = createTestEvent({ type: 'identify', userId: 'ada', traits: { plan: 'pro' } })
    const results = await destination.onBatch([event], { ...settings, subscriptions: [saved] })
    expect(results.map((r) => r.multistatus?.map((m) => m.status))).toEqual([[200]])
    expect(identify.isDone()).toBe(true)
  })
})
