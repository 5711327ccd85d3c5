import { AUDIENCE_UPDATE_MODES } from '../../ortto/constants'
import { hasOwn, invalidEvent, nonBlank, prepareContact } from '../../ortto/client'
import type { AudienceChoice, Prepared } from '../../ortto/client'
import type { AudienceRef, ContactObject } from '../../ortto/types'
import { COMPUTATION_CLASSES } from '../constants'
import type { Payload } from './generated-types'

/**
 * How an Engage audience event becomes an Ortto audience member. Engage says whether the person
 * is in the audience with a boolean trait (identify) or property (track) named by the
 * computation key: `true` adds them to the Ortto audience, anything else removes them.
 */

const isEngageClass = (value: unknown) =>
  value === COMPUTATION_CLASSES.audience || value === COMPUTATION_CLASSES.journeyStep

/** The membership change an event asks for, or why it is not an event this action can send. */
export function membership(payload: Payload): AudienceChoice {
  const computationClass = payload.segment_computation_action
  if (!isEngageClass(computationClass)) {
    const given = !nonBlank(computationClass) ? 'missing' : `"${computationClass}"`
    return invalidEvent(
      `This is not an Engage audience event: its Segment Computation Action is ${given}, and Sync Audience ` +
        `takes only "${COMPUTATION_CLASSES.audience}" or "${COMPUTATION_CLASSES.journeyStep}". ` +
        'Map segment_computation_action to $.context.personas.computation_class and send it Engage audience events.'
    )
  }
  if (!nonBlank(payload.external_audience_id)) {
    return invalidEvent(
      'The Ortto Audience ID is empty: Engage sets it (context.personas.external_audience_id) once createAudience ' +
        'has created the audience in Ortto. Map external_audience_id to $.context.personas.external_audience_id.'
    )
  }
  const key = payload.computation_key
  if (!nonBlank(key)) {
    return invalidEvent(
      'The Audience Computation Key is empty, so whether the person entered or left the audience cannot be read. ' +
        'Map computation_key to $.context.personas.computation_key.'
    )
  }
  const traits = payload.traits
  const entered = typeof traits === 'object' && traits !== null && hasOwn(traits, key) && traits[key] === true
  return { mode: entered ? AUDIENCE_UPDATE_MODES.add : AUDIENCE_UPDATE_MODES.remove, id: payload.external_audience_id }
}

/** The member object: the contact keys of identify plus `audience`, without the computation key as a trait. */
export const prepareMember = (payload: Payload, audience: AudienceRef | undefined): Prepared<ContactObject> =>
  prepareContact(payload, audience, payload.computation_key)
