/** Facts about Segment Engage's audience events that more than one module relies on. */

/** Ortto (Audiences)' slug in Segment's catalog; it also tags this destination's metrics. */
export const ORTTO_AUDIENCES_SLUG = 'actions-ortto-audiences'

/**
 * The computation classes of the events Engage sends for audiences and journeys
 * (`context.personas.computation_class`); `as const` so a misspelt class does not compile.
 */
export const COMPUTATION_CLASSES = {
  audience: 'audience',
  journeyStep: 'journey_step'
} as const

type ComputationClasses = typeof COMPUTATION_CLASSES
export type ComputationClass = ComputationClasses[keyof ComputationClasses]
