/**
 * What `npm start` prints once it listens: where, where events go, the write key, the mappings,
 * and curl lines to try, all with the write key in force (README "Run it").
 */

interface BannerFacts {
  url: string
  destination: string
  mappings: string[]
  sandbox: boolean
  writeKey: string
  writeKeyGenerated: boolean
  deadLetterFile?: string
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
    'Ortto (Actions) local pipeline',
    `  Listening on    ${url}  (Segment HTTP Tracking API: /v1/identify, /v1/track, /v1/batch …)`,
    `  Delivering to   ${facts.destination}`,
    `  Write key       ${writeKey}  (${keyNote})`,
    `  Mappings        ${facts.mappings.join('\n                  ')}`,
    ...(facts.deadLetterFile
      ? [`  Dead letters    ${facts.deadLetterFile}  (every event that ends failed, with why)`]
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
    '  Ctrl+C stops after delivering what is held; a second Ctrl+C stops at once.'
  ].join('\n')
}
