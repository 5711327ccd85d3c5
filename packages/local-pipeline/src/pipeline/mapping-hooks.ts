/**
 * The Associate Audience hook (`onMappingSave`) of mappings that carry only its inputs. A mapping
 * saved in Segment's UI carries the hook's outputs; a mapping file may carry only its inputs
 * (`onMappingSave.inputs.audience_name`), and the hook then runs here, as saving the mapping in
 * Segment runs it, and its outputs are kept with the mapping.
 *
 * Outputs are remembered for the run by destination, action and inputs: a reload runs the hook for
 * a mapping whose hook inputs are new or changed, once, and never again for the same inputs (its
 * outputs depend on nothing else but the settings, which do not change while the pipeline runs).
 */
import type { Destination, JSONObject } from '@segment/actions-core'
import type { Settings } from 'actions-ortto'
import { messageOf } from './error-message'
import type { PipelineDestination } from './destinations'
import type { MatchableSubscription } from './subscriptions'

interface SavedHook {
  inputs?: { audience_name?: unknown }
  outputs?: { audience_id?: unknown }
}

/** A hook that failed: the subscription (by its place in the list) and the hook's own message. */
interface HookFailure {
  index: number
  subscription: MatchableSubscription
  message: string
}

export class MappingHooks {
  /** Outputs of each hook run of this run, by destination, action and inputs. */
  private readonly saved = new Map<string, JSONObject>()
  /** How many times a hook ran (tests and logs tell a reused output from a new run). */
  runs = 0

  constructor(
    private readonly runners: ReadonlyMap<PipelineDestination, Destination<Settings>>,
    private readonly settings: Settings
  ) {}

  /**
   * Gives each subscription that carries hook inputs without outputs the hook's outputs (in its
   * `mapping`): those remembered for the same inputs, else a hook run's. Returns the hooks that
   * failed; those subscriptions are left as they were.
   */
  async complete(subscriptions: readonly MatchableSubscription[]): Promise<HookFailure[]> {
    const failures: HookFailure[] = []
    for (const [index, subscription] of subscriptions.entries()) {
      const saved = subscription.mapping.onMappingSave as SavedHook | undefined
      const action = this.runners.get(subscription.destination)?.actions[subscription.partnerAction]
      if (!action || !saved?.inputs?.audience_name || saved.outputs?.audience_id) continue
      const key = JSON.stringify([subscription.destination.folder, subscription.partnerAction, saved.inputs])
      let outputs = this.saved.get(key)
      if (!outputs) {
        this.runs++
        const result = await action
          .executeHook('onMappingSave', { settings: this.settings, payload: undefined, hookInputs: saved.inputs })
          .catch((error: unknown) => ({ error: { message: messageOf(error) }, savedData: undefined }))
        if (result.error || !result.savedData) {
          failures.push({ index, subscription, message: result.error?.message ?? 'the audience hook saved nothing' })
          continue
        }
        outputs = result.savedData as JSONObject
        this.saved.set(key, outputs)
      }
      subscription.mapping = { ...subscription.mapping, onMappingSave: { ...saved, outputs } as JSONObject }
    }
    return failures
  }
}
