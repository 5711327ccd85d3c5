/**
 * `npm start`: the local Segment → Ortto pipeline. Prints where it listens, where events go and
 * how to send a first event; stops cleanly on Ctrl+C / SIGTERM after delivering what it holds.
 */
import { ConfigError, readConfig } from './config'
import { PipelineStopError, startPipeline } from './index'
import type { DeliveryTotals } from './delivery'
import { MappingFileError } from './subscriptions'
import { SandboxDataError } from '../sandbox'

function banner(url: string, destination: string, mappings: string[], sandbox: boolean): string {
  const inspect = sandbox
    ? [`  Then look:      curl -s ${url}/sandbox/contacts`, `                  curl -s ${url}/status`]
    : [`  Then look:      curl -s ${url}/status`]
  return [
    'Ortto (Actions) local pipeline',
    `  Listening on    ${url}  (Segment HTTP Tracking API: /v1/identify, /v1/track, /v1/batch …)`,
    `  Delivering to   ${destination}`,
    `  Mappings        ${mappings.join('\n                  ')}`,
    '',
    '  Send a first event:',
    `    curl -s ${url}/v1/identify -u my-write-key: -H 'content-type: application/json' \\`,
    `      -d '{"userId": "ada", "traits": {"email": "ada@example.com", "first_name": "Ada"}}'`,
    ...inspect,
    '',
    '  Ctrl+C stops after delivering what is held.'
  ].join('\n')
}

async function main(): Promise<void> {
  const pipeline = await startPipeline(readConfig(process.env))
  const mappings = pipeline.subscriptions.map((s) => `${s.name}: ${s.subscribe} → ${s.partnerAction}`)
  console.log(banner(pipeline.url, pipeline.destinationLabel, mappings, pipeline.sandbox !== undefined))

  let signalled = false
  const shutdown = (signal: string) => {
    if (signalled) return
    signalled = true
    console.log(`\n${signal}: delivering what is held, then stopping…`)
    const printTotals = (totals: DeliveryTotals) =>
      console.log(
        `Stopped. ${totals.received} events received: ${totals.delivered} delivered, ${totals.failed} failed, ` +
          `${totals.unsubscribed} matched no mapping, ${totals.retried} retries.`
      )
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
