/** GET /status: what the pipeline is (from index.ts), what ingest took in, and delivery's totals and recent failures. */
import type { DeliveryPipeline } from '../delivery'
import type { IngestCounts } from './ingest-route'

export const statusAnswer = (
  describe: () => Record<string, unknown>,
  ingest: IngestCounts,
  delivery: Pick<DeliveryPipeline, 'status'>
): unknown => ({ ...describe(), ingest, delivery: delivery.status() })
