/**
 * Sync Audience's default mapping, written out by hand from the catalog table: tests compare
 * subscriptions against this literal, never against `defaultValues(fields)` (the code's own
 * expression, which cannot fail).
 */

/** `$.traits.<key>` when it exists, else `$.properties.<key>`. */
const traitOrProperty = (key: string) => ({
  '@if': {
    exists: { '@path': `$.traits.${key}` },
    then: { '@path': `$.traits.${key}` },
    else: { '@path': `$.properties.${key}` }
  }
})

export const SYNC_AUDIENCE_DEFAULT_MAPPING = {
  segment_computation_action: { '@path': '$.context.personas.computation_class' },
  computation_key: { '@path': '$.context.personas.computation_key' },
  external_audience_id: { '@path': '$.context.personas.external_audience_id' },
  message_id: { '@path': '$.messageId' },
  enable_batching: true,
  batch_size: 500,
  user_id: { '@path': '$.userId' },
  anonymous_id: { '@path': '$.anonymousId' },
  ip: traitOrProperty('ip'),
  location: {
    country: traitOrProperty('country'),
    state: traitOrProperty('state'),
    city: traitOrProperty('city'),
    post_code: traitOrProperty('postal_code')
  },
  traits: {
    '@if': { exists: { '@path': '$.properties' }, then: { '@path': '$.properties' }, else: { '@path': '$.traits' } }
  }
}
