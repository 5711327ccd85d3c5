/**
 * The default mappings of each action, written out by hand: what Segment shows a new mapping and
 * what the presets subscribe with. Tests compare the definition against these literals, never
 * against `defaultValues(fields)` (the expression the code itself uses, which cannot fail).
 */

const fromAddress = (key: string) => ({
  '@if': {
    exists: { '@path': `$.traits.address.${key}` },
    then: { '@path': `$.traits.address.${key}` },
    else: { '@path': `$.context.traits.address.${key}` }
  }
})

export const CONTACT_DEFAULT_MAPPING = {
  timestamp: { '@path': '$.timestamp' },
  message_id: { '@path': '$.messageId' },
  user_id: { '@path': '$.userId' },
  anonymous_id: { '@path': '$.anonymousId' },
  enable_batching: true,
  ip: { '@path': '$.context.ip' },
  location: {
    country: fromAddress('country'),
    state: fromAddress('state'),
    city: fromAddress('city'),
    post_code: fromAddress('postal_code')
  },
  traits: {
    '@if': { exists: { '@path': '$.traits' }, then: { '@path': '$.traits' }, else: { '@path': '$.context.traits' } }
  },
  audience_update_mode: 'add',
  batch_size: 500
}

export const ACTIVITY_DEFAULT_MAPPING = {
  ...CONTACT_DEFAULT_MAPPING,
  event: { '@path': '$.event' },
  namespace: { '@path': '$.context.app.namespace' },
  properties: { '@path': '$.properties' }
}
