/**
 * The two destinations `npm start` runs side by side, as one Segment workspace would: Ortto
 * (Actions) on the source's events and Ortto (Audiences) on Engage's. Segment sends an Engage
 * audience's events only to the destinations connected to that audience, never to the source's
 * other destinations; so here an event that carries `context.personas.computation_class` reaches
 * Ortto (Audiences)' subscriptions and no other, and every other event Ortto (Actions)' only.
 */
import type { DestinationDefinition, SegmentEvent } from '@segment/actions-core'
import { ortto, orttoMetadata, orttoAudiences, audiencesMetadata, type OrttoSettings } from 'actions-ortto'
import { personasOf } from './engage-audiences'

export interface PipelineDestination {
  /** Its folder in action-destinations: what `./bin/run serve --destination=` takes, and /manifest's directoryName. */
  folder: string
  definition: DestinationDefinition<OrttoSettings>
  /** Its catalog metadata (metadata.json), answered by GET /metadata. */
  metadata: unknown
  /** Which events reach its subscriptions, in words (banner, dry run). */
  takesWhat: string
  takes(event: SegmentEvent): boolean
}

/** Whether Engage sent the event: `context.personas.computation_class` is set. */
function isEngageEvent(event: SegmentEvent): boolean {
  const computationClass = personasOf(event)?.computation_class
  return computationClass !== undefined && computationClass !== null && computationClass !== ''
}

export const ORTTO: PipelineDestination = {
  folder: 'ortto',
  definition: ortto,
  metadata: orttoMetadata,
  takesWhat: 'events without context.personas.computation_class',
  takes: (event) => !isEngageEvent(event)
}

export const ORTTO_AUDIENCES: PipelineDestination = {
  folder: 'ortto-audiences',
  definition: orttoAudiences,
  metadata: audiencesMetadata,
  takesWhat: 'Engage audience events (context.personas.computation_class set)',
  takes: isEngageEvent
}

/** Every destination of the pipeline, Ortto (Actions) first. */
export const PIPELINE_DESTINATIONS: readonly PipelineDestination[] = [ORTTO, ORTTO_AUDIENCES]
