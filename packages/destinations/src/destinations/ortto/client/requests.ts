import { MAX_OBJECTS_PER_REQUEST, MAX_REQUEST_BYTES } from '../constants'
import type { WireObject } from '../types'

/** An object ready to go, with the position of its event in the payloads delivered. */
export interface Outgoing {
  eventIndex: number
  object: WireObject
}

/** One request: its objects, in order, and the JSON array body that carries them. */
export interface PlannedRequest {
  items: Outgoing[]
  body: string
}

export interface RequestPlan {
  requests: PlannedRequest[]
  /** Objects that alone exceed the size limit; they cannot be sent at all. */
  tooLarge: Array<{ item: Outgoing; bytes: number }>
}

/** Brackets of the JSON array a request body is. */
const ARRAY_OVERHEAD_BYTES = 2

/** A UTF-16 code unit never takes more than 3 bytes of UTF-8, so most bodies need no byte count. */
const fits = (json: string, limit: number) => json.length * 3 <= limit || Buffer.byteLength(json) <= limit

/**
 * Groups objects into requests of at most 500 objects and 2,000,000 bytes of JSON each, keeping
 * their order. The usual batch fits in one request and is serialised once; only a batch that does
 * not is sized object by object (the bodies are byte-for-byte the same either way).
 */
export function planRequests(outgoing: Outgoing[]): RequestPlan {
  if (outgoing.length <= MAX_OBJECTS_PER_REQUEST) {
    const body = JSON.stringify(outgoing.map((item) => item.object))
    if (fits(body, MAX_REQUEST_BYTES)) return { requests: [{ items: outgoing, body }], tooLarge: [] }
  }

  const plan: RequestPlan = { requests: [], tooLarge: [] }
  let items: Outgoing[] = []
  let parts: string[] = []
  let bytes = ARRAY_OVERHEAD_BYTES
  const close = () => {
    if (items.length > 0) plan.requests.push({ items, body: `[${parts.join(',')}]` })
    items = []
    parts = []
    bytes = ARRAY_OVERHEAD_BYTES
  }
  for (const item of outgoing) {
    const json = JSON.stringify(item.object)
    const size = Buffer.byteLength(json)
    if (size + ARRAY_OVERHEAD_BYTES > MAX_REQUEST_BYTES) {
      plan.tooLarge.push({ item, bytes: size })
      continue
    }
    const separator = items.length > 0 ? 1 : 0
    if (items.length === MAX_OBJECTS_PER_REQUEST || bytes + separator + size > MAX_REQUEST_BYTES) close()
    bytes += size + (items.length > 0 ? 1 : 0)
    items.push(item)
    parts.push(json)
  }
  close()
  return plan
}
