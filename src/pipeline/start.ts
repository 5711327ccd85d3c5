/**
 * `npm start`: the local Segment → Ortto pipeline. Prints where it listens, where events go and
 * how to send a first event; stops cleanly on Ctrl+C / SIGTERM after delivering what it holds.
 */
import { ConfigError, readConfig } from './config'
import { PipelineStopError, startPipeline } from './index'
import type { DeliveryTotals } from './delivery'
import { MappingFileError } from './subscriptions'
import { SandboxDataError } from '../sandbox'

interface BannerFacts {
  url: string
  destination: string
  mappings: string[]
  sandbox: boolean
  writeKey: string
  writeKeyGenerated: boolean
  deadLetterFile?: string
}

function banner(facts: BannerFacts): string {
  const { url, writeKey } = facts
  const auth = `-u ${writeKey}:`
  const inspect = facts.sandbox
    ? [`  Then look:      curl -s ${auth} ${url}/sandbox/contacts`, `                  curl -s ${auth} ${url}/status`]
    : [`  Then look:      curl -s ${auth} ${url}/status`]
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
    '  Send a first event:',
    `    curl -s ${url}/v1/identify ${auth} -H 'content-type: application/json' \\`,
    `      -d '{"userId": "ada", "traits": {"email": "ada@example.com", "first_name": "Ada"}}'`,
    ...inspect,
    '',
    '  Ctrl+C stops after delivering what is held; a second Ctrl+C stops at once.'
  ].join('\n')
}

async function main(): Promise<void> {
  const pipeline = await startPipeline(readConfig(process.env))
  const deadLetterFile = pipeline.deadLetter?.file
  console.log(
    banner({
      url: pipeline.url,
      destination: pipeline.destinationLabel,
      mappings: pipeline.subscriptions.map((s) => `${s.name}: ${s.subscribe} → ${s.partnerAction}`),
      sandbox: pipeline.sandbox !== undefined,
      writeKey: pipeline.writeKey,
      writeKeyGenerated: pipeline.writeKeyGenerated,
      deadLetterFile
    })
  )

  const written = () => {
    const count = pipeline.deadLetter?.written ?? 0
    return count > 0 ? ` ${count} written to ${deadLetterFile}.` : ''
  }
  const printTotals = (totals: DeliveryTotals) =>
    console.log(
      `Stopped. ${totals.received} events received: ${totals.delivered} delivered, ${totals.failed} failed, ` +
        `${totals.unsubscribed} matched no mapping, ${totals.retried} retries.${written()}`
    )

  let signals = 0
  const shutdown = (signal: string) => {
    signals++
    if (signals > 1) {
      // A second signal: stop now, and say what that leaves undelivered and where it went.
      const abandoned = pipeline.abandon()
      const where = deadLetterFile ? `, each written to ${deadLetterFile} to send again later` : ''
      console.log(`\n${signal} again: stopping at once. ${abandoned} deliveries abandoned${where}.`)
      process.exit(1)
    }
    console.log(`\n${signal}: delivering what is held, then stopping… (${signal} again stops at once)`)
    pipeline
      .stop()
      .then((totals) => {
        printTotals(totals)
        process.exit(0)
      })
      .catch((error: unknown) => {
        // Delivery is done even when the sandbox could not save: its totals still count.
        if (error instanceof PipelineStopError) printTotals(error.totals)
        console.error(`Stopping failed: ${error instanceof Error ? error.message : String(error)}`)
        process.exit(1)
      })
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
}

main().catch((error: unknown) => {
  const known = [ConfigError, MappingFileError, SandboxDataError].some((type) => error instanceof type)
  const code = (error as NodeJS.ErrnoException).code
  if (known) console.error(`Cannot start: ${(error as Error).message}`)
  else if (code === 'EADDRINUSE')
    console.error(`Cannot start: the port is in use (${(error as Error).message}); set PORT.`)
  else console.error(`Cannot start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  process.exit(1)
})
