/**
 * The last attempts that did not deliver everything they carried, each with the exact requests
 * it made to Ortto and Ortto's answers (the console's Failures view). Bounded: a few attempts,
 * a few exchanges each, each body cut at BODY_LIMIT characters, and the API key removed from
 * every string before anything is kept.
 */
import type { DecoratedResponse } from '@segment/actions-core'
import { redactApiKey, redactDeep } from 'actions-ortto'
import { exchangeOf, type Exchange } from '../action-calls'

/** Attempts kept, the oldest dropped first. */
export const FAILED_ATTEMPTS_KEPT = 20
/** Exchanges kept per attempt (a batch the destination splits makes several requests). */
const EXCHANGES_KEPT = 4
/** Characters kept of each request and answer body; a batch of 500 events runs to hundreds of kB. */
export const BODY_LIMIT = 32 * 1024
/** Message ids listed per attempt. */
const MESSAGE_IDS_KEPT = 10

export interface FailedAttempt {
  /** 1 for the first attempt recorded since start, then 2, 3…: the console asks again when it grows. */
  sequence: number
  at: string
  subscription: string
  partnerAction: string
  /** The status and reason of its first delivery that did not go through. */
  status: number
  reason: string
  /** Of its deliveries: those that ended failed, those that wait to be retried, those delivered. */
  failed: number
  retrying: number
  delivered: number
  /** The first MESSAGE_IDS_KEPT of the events that failed or wait, and how many more there were. */
  messageIds: string[]
  moreMessageIds: number
  /** What went to Ortto and what came back; none when the attempt made no request (the event was refused before). */
  exchanges: Exchange[]
  moreExchanges: number
}

type FailedAttemptInput = Omit<FailedAttempt, 'sequence' | 'exchanges' | 'moreExchanges' | 'moreMessageIds'> & {
  responses: readonly DecoratedResponse[]
}

const clip = (text: string): string =>
  text.length <= BODY_LIMIT
    ? text
    : `${text.slice(0, BODY_LIMIT)}… (${text.length - BODY_LIMIT} more characters not kept; the console keeps ${BODY_LIMIT})`

/** A body as kept: the key already removed, then cut (cutting first could leave part of the key). */
function keptBody(body: unknown): unknown {
  if (typeof body === 'string') return clip(body)
  const text = JSON.stringify(body) ?? ''
  return text.length <= BODY_LIMIT ? body : clip(text)
}

export class FailedRequests {
  private readonly kept: FailedAttempt[] = []
  private sequence = 0

  constructor(
    /** The API key the pipeline delivers with, removed from everything kept. */
    private readonly apiKey: string,
    private readonly capacity = FAILED_ATTEMPTS_KEPT
  ) {}

  /** How many attempts were recorded since start (kept or not). */
  get recorded(): number {
    return this.sequence
  }

  record({ responses, messageIds, ...attempt }: FailedAttemptInput): void {
    const exchanges = responses.slice(0, EXCHANGES_KEPT).map((response) => {
      const exchange = this.redact(exchangeOf(response)) as Exchange
      exchange.request.body = clip(exchange.request.body)
      exchange.response.body = keptBody(exchange.response.body)
      return exchange
    })
    this.kept.push({
      sequence: ++this.sequence,
      ...attempt,
      reason: this.redact(attempt.reason) as string,
      messageIds: messageIds.slice(0, MESSAGE_IDS_KEPT),
      moreMessageIds: Math.max(0, messageIds.length - MESSAGE_IDS_KEPT),
      exchanges,
      moreExchanges: Math.max(0, responses.length - EXCHANGES_KEPT)
    })
    if (this.kept.length > this.capacity) this.kept.shift()
  }

  /** The attempts kept, the latest first. */
  latest(): FailedAttempt[] {
    return [...this.kept].reverse()
  }

  /** Every string of `value` without the key, as it is and as JSON escapes it (Ortto may echo it either way). */
  private redact(value: unknown): unknown {
    const escaped = JSON.stringify(this.apiKey).slice(1, -1)
    return redactDeep(value, (text) => redactApiKey(redactApiKey(text, this.apiKey), escaped))
  }
}
