/**
 * What `npm start` prints once it listens: where, where events go, the write key, the mappings,
 * and curl lines to try, all with the write key in force (docs/running-locally.md, "Run it").
 */
import { inSeconds, plural } from './log-text'
import type { MatchableSubscription } from './subscriptions'

interface BannerFacts {
  url: string
  destination: string
  /** The banner's mapping lines (mappingLines). */
  mappings: string[]
  sandbox: boolean
  writeKey: string
  writeKeyGenerated: boolean
  deadLetterFile?: string
  /** Where the Ortto audience of each Engage audience is remembered, when it is kept across restarts. */
  audienceIdsFile?: string
  /** Where accepted events are kept until delivered, and how many deliveries it gave back at start. */
  spool?: { dir: string; restored: number }
  /** How long Ctrl+C lets calls in flight finish (STOP_GRACE_MS). */
  stopGraceMs?: number
}

/** The subscriptions, under the destination each belongs to and which events reach it. */
export function mappingLines(subscriptions: readonly MatchableSubscription[]): string[] {
  const destinations = [...new Set(subscriptions.map((s) => s.destination))]
  return destinations.flatMap((destination) => [
    `${destination.definition.name}, for ${destination.takesWhat}:`,
    ...subscriptions
      .filter((s) => s.destination === destination)
      .map((s) => `  ${s.name}: ${s.subscribe} → ${s.partnerAction}`)
  ])
}

export function banner(facts: BannerFacts): string {
  const { url, writeKey } = facts
  const auth = `-u ${writeKey}:`
  const look = [
    ...(facts.sandbox ? [`curl -s ${auth} ${url}/sandbox/contacts`] : []),
    `curl -s ${auth} '${url}/outcomes?userId=ada'`,
    `curl -s ${auth} ${url}/status`
  ]
  const keyNote = facts.writeKeyGenerated
    ? 'generated for this run; set SEGMENT_WRITE_KEY to keep one'
    : 'SEGMENT_WRITE_KEY; send it as the basic-auth user name'
  return [
    'Ortto local pipeline: Ortto (Actions) and Ortto (Audiences)',
    `  Listening on    ${url}  (Segment HTTP Tracking API: /v1/identify, /v1/track, /v1/batch …)`,
    `  Delivering to   ${facts.destination}`,
    `  Write key       ${writeKey}  (${keyNote})`,
    `  Mappings        ${facts.mappings.join('\n                  ')}`,
    ...(facts.deadLetterFile
      ? [`  Dead letters    ${facts.deadLetterFile}  (every event that ends failed, with why)`]
      : []),
    ...(facts.spool
      ? [
          `  Spool           ${facts.spool.dir}  (accepted events, kept until delivered; ${plural(facts.spool.restored, 'delivery', 'deliveries')} taken back at start)`
        ]
      : []),
    ...(facts.audienceIdsFile
      ? [`  Audience ids    ${facts.audienceIdsFile}  (the Ortto audience of each Engage audience)`]
      : []),
    '',
    '  See what an event would send (a dry run: nothing is sent):',
    `    curl -s ${url}/dry-run ${auth} -H 'content-type: application/json' \\`,
    `      -d '{"type": "identify", "userId": "ada", "traits": {"email": "ada@example.com", "first_name": "Ada"}}'`,
    '  Send it:',
    `    curl -s ${url}/v1/identify ${auth} -H 'content-type: application/json' \\`,
    `      -d '{"userId": "ada", "traits": {"email": "ada@example.com", "first_name": "Ada"}}'`,
    `  Then look:      ${look.join('\n                  ')}`,
    '',
    ...(facts.spool
      ? [
          `  Ctrl+C stops within ${inSeconds(facts.stopGraceMs ?? 10_000)} (STOP_GRACE_MS), keeping what is not delivered by then in the spool;`,
          '  a second Ctrl+C stops at once.'
        ]
      : ['  Ctrl+C stops after delivering what is held; a second Ctrl+C stops at once.'])
  ].join('\n')
}
