/** Runs the sandbox data file's benchmark (sandbox-store.ts) for `npm run bench`, prints and checks its figures. */
import { mib, num, pad, padEnd, statusText } from './format'
import type { Options } from './options'
import { runStoreIngest, type StoreIngestFigures } from './sandbox-store'

export async function benchStore(
  options: Pick<Options, 'storeEvents' | 'storeMiB'>
): Promise<StoreIngestFigures | undefined> {
  if (options.storeEvents === 0) return undefined
  console.log(
    `\nsandbox ingest: ${num(options.storeEvents)} objects posted straight to the sandbox, in memory only, ` +
      `then with a data file pre-filled to ${options.storeMiB} MiB …`
  )
  const store = await runStoreIngest({ events: options.storeEvents, storeMiB: options.storeMiB, concurrency: 4 })
  for (const [label, figures] of [
    ['in memory only', store.memoryOnly],
    [`with a ${mib(store.storeBytes)} data file`, store.withDataFile]
  ] as const) {
    console.log(
      `  ${padEnd(label, 28)} ${pad(num(figures.eventsPerSecond), 8)} events/s  ${pad(num(figures.wallMs), 6)} ms` +
        (figures.diskBytesPerEvent === undefined
          ? ''
          : `  ${num(figures.diskBytesPerEvent)} disk bytes written/event`) +
        `  [${statusText(figures.statuses)}]`
    )
  }
  console.log(`  loading the data file took ${num(store.loadMs)} ms, stop() ${num(store.stopMs)} ms`)
  return store
}

export function storeProblems(store: StoreIngestFigures): string[] {
  const problems: string[] = []
  for (const [label, figures] of [
    ['in memory', store.memoryOnly],
    ['with a data file', store.withDataFile]
  ] as const) {
    if (Object.keys(figures.statuses).some((status) => status !== '200')) {
      problems.push(`sandbox ingest ${label}: answers ${statusText(figures.statuses)}`)
    }
  }
  return problems
}

/** The summary table's line. */
export function storeSummary(store: StoreIngestFigures): string {
  const disk = store.withDataFile.diskBytesPerEvent
  return (
    `sandbox data file      ${num(store.withDataFile.eventsPerSecond)} events/s with ${mib(store.storeBytes)} stored ` +
    `vs ${num(store.memoryOnly.eventsPerSecond)} in memory only` +
    (disk === undefined ? '' : `; ${num(disk)} bytes written to disk per event`)
  )
}
