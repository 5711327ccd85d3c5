/**
 * `npm start`: the local Segment → Ortto pipeline. Prints where it listens, where events go and
 * how to send a first event; stops cleanly on Ctrl+C / SIGTERM after delivering what it holds.
 */
import { banner, mappingLines } from './banner'
import { ConfigError, readConfig } from './config'
import { plural } from './log-text'
import { PipelineStopError, startPipeline } from './index'
import type { DeliveryTotals } from './delivery'
import { MappingFileError } from './subscriptions'
import { SandboxDataError } from '../sandbox'

async function main(): Promise<void> {
  const pipeline = await startPipeline(readConfig(process.env))
  const deadLetterFile = pipeline.deadLetter?.file
  console.log(
    banner({
      url: pipeline.url,
      destination: pipeline.destinationLabel,
      mappings: mappingLines(pipeline.subscriptions),
      sandbox: pipeline.sandbox !== undefined,
      writeKey: pipeline.writeKey,
      writeKeyGenerated: pipeline.writeKeyGenerated,
      deadLetterFile,
      audienceIdsFile: pipeline.audienceIdsFile
    })
  )

  const written = () => {
    const count = pipeline.deadLetter?.written ?? 0
    return count > 0 ? ` ${count} written to ${deadLetterFile}.` : ''
  }
  const printTotals = (totals: DeliveryTotals) =>
    console.log(
      `Stopped. ${plural(totals.received, 'event')} received: ${totals.delivered} delivered, ${totals.failed} failed, ` +
        `${totals.unsubscribed} matched no mapping, ${plural(totals.retried, 'retry', 'retries')}.${written()}`
    )

  let signals = 0
  const shutdown = (signal: string) => {
    signals++
    if (signals > 1) {
      // A second signal: stop now, and say what that leaves undelivered and where it went.
      const abandoned = pipeline.abandon()
      const where = deadLetterFile ? `, each written to ${deadLetterFile} to send again later` : ''
      const deliveries = plural(abandoned, 'delivery', 'deliveries')
      console.log(`\n${signal} again: stopping at once. ${deliveries} abandoned${where}.`)
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
