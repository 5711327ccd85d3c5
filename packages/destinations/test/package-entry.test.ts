/** The package's entry point: hosts that import it find each destination by its catalog slug. */
import destinations, { ortto, orttoAudiences } from '../src'
import orttoDefinition from '../src/destinations/ortto'
import audiencesDefinition from '../src/destinations/ortto-audiences'

it('exports Ortto (Actions) and Ortto (Audiences), each under its own slug', () => {
  expect(Object.keys(destinations)).toEqual(['actions-ortto', 'actions-ortto-audiences'])
  expect(destinations['actions-ortto']).toBe(orttoDefinition)
  expect(destinations['actions-ortto-audiences']).toBe(audiencesDefinition)
  for (const [slug, definition] of Object.entries(destinations)) expect(definition.slug).toBe(slug)
  expect([ortto, orttoAudiences]).toEqual([orttoDefinition, audiencesDefinition])
})
