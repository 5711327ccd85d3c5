/** GET /outcomes?messageId=… (or userId, anonymousId): what became of those events, per subscription. */
import type * as http from 'node:http'
import type { DeliveryPipeline } from '../delivery'
import type { OutcomeQuery } from '../outcomes'
import { InputError } from './errors'

/** At most this many outcomes per answer: the latest. */
const MAX_OUTCOMES_SHOWN = 100

const OUTCOME_IDS = ['messageId', 'userId', 'anonymousId'] as const

export function outcomesAnswer(
  req: http.IncomingMessage,
  delivery: Pick<DeliveryPipeline, 'outcomesOf' | 'outcomeCapacity'>
): unknown {
  const params = new URL(req.url ?? '/', 'http://pipeline').searchParams
  const given = OUTCOME_IDS.filter((name) => params.has(name))
  const name = given[0]
  const value = name === undefined ? undefined : params.get(name)
  if (given.length !== 1 || !value) {
    throw new InputError('GET /outcomes takes one of ?messageId=…, ?userId=… or ?anonymousId=…, not empty')
  }
  const query = { [name]: value } as OutcomeQuery
  const found = delivery.outcomesOf(query)
  return {
    query,
    found: found.length,
    outcomes: found.slice(-MAX_OUTCOMES_SHOWN),
    ...(found.length === 0 && {
      note: `no event with this ${name} among the last ${delivery.outcomeCapacity} outcomes or the deliveries held now`
    }),
    ...(found.length > MAX_OUTCOMES_SHOWN && {
      note: `the latest ${MAX_OUTCOMES_SHOWN} of ${found.length} are shown`
    })
  }
}
