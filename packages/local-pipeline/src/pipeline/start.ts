/**
 * `npm start`: the local Segment → Ortto pipeline. Prints where it listens, where events go and
 * how to send a first event; on Ctrl+C / SIGTERM stops within STOP_GRACE_MS, what is not delivered
 * by then staying in the spool for the next start; on SIGHUP reloads the mapping file.
 */
import { banner, mappingLines } from './banner'
import { ConfigError, readConfig } from './config'
import { messageOf } from './error-message'
import { plural } from './log-text'
import { PipelineStopError, startPipeline } from './index'
import type { DeliveryTotals } from './delivery'
import { MappingFileError } from './subscriptions'
import { SandboxDataError } from 'ortto-sandbox'

async function main(): Promise<void> {
  const config = readConfig(process.env)
  const pipeline = await startPipeline(config)
  // Reloads ORTTO_MAPPINGS (a change to the file does it by itself); it logs what came of it.
  // Before the banner: whoever reads the banner may send it at once.
  process.on('SIGHUP', () => void pipeline.reloadMappings())
  const deadLetterFile = pipeline.deadLetter?.file
  const { spoolDir } = pipeline
  console.log(
    banner({
      url: pipeline.url,
      destination: pipeline.destinationLabel,
      mappings: mappingLines(pipeline.subscriptions),
      sandbox: pipeline.sandbox !== undefined,
      writeKey: pipeline.writeKey,
      writeKeyGenerated: pipeline.writeKeyGenerated,
      deadLetterFile,
      audienceIdsFile: pipeline.audienceIdsFile,
      spool: spoolDir === undefined ? undefined : { dir: spoolDir, restored: pipeline.delivery.restored },
      stopGraceMs: config.stopGraceMs
    })
  )

  const written = () => {
    const count = pipeline.deadLetter?.written ?? 0
    return count > 0 ? ` ${count} written to ${deadLetterFile}.` : ''
  }
  const restored = (totals: DeliveryTotals) =>
    totals.restored > 0 ? `, ${plural(totals.restored, 'delivery', 'deliveries')} taken back from the spool` : ''
  const staying = (totals: DeliveryTotals) => {
    if (totals.pending === 0 || spoolDir === undefined) return ''
    const stay = totals.pending === 1 ? 'stays' : 'stay'
    return ` ${plural(totals.pending, 'delivery', 'deliveries')} not delivered yet ${stay} in the spool (${spoolDir}) for the next start.`
  }
  const printTotals = (totals: DeliveryTotals) =>
    console.log(
      `Stopped. ${plural(totals.received, 'event')} received${restored(totals)}: ${totals.delivered} delivered, ` +
        `${totals.failed} failed, ${totals.unsubscribed} matched no mapping, ${plural(totals.retried, 'retry', 'retries')}.` +
        `${written()}${staying(totals)}`
    )

  let signals = 0
  const shutdown = (signal: string) => {
    signals++
    if (signals > 1) {
      // A second signal: stop now. Everything accepted is in the spool already, so nothing is lost.
      const held = pipeline.abandon()
      const deliveries = plural(held, 'delivery', 'deliveries')
      const where =
        spoolDir === undefined
          ? ` abandoned${deadLetterFile ? `, each written to ${deadLetterFile} to send again later` : ''}`
          : ` not delivered yet ${held === 1 ? 'stays' : 'stay'} in the spool (${spoolDir}) for the next start; nothing is lost`
      console.log(`\n${signal} again: stopping at once. ${deliveries}${where}.`)
      process.exit(1)
    }
    const grace = `${(config.stopGraceMs ?? 10_000) / 1000} s`
    console.log(
      `\n${signal}: delivering what it can within ${grace}, then stopping; the rest stays in the spool… (${signal} again stops at once)`
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
        console.error(`Stopping failed: ${messageOf(error)}`)
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
