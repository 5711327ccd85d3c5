// Sends an identify and a track call to `npm start` with Segment's Node library.
// Run it beside `SEGMENT_WRITE_KEY=my-write-key npm start`: node examples/analytics-node.mjs
import { Analytics } from '@segment/analytics-node'

const analytics = new Analytics({
  writeKey: process.env.SEGMENT_WRITE_KEY ?? 'my-write-key',
  host: process.env.PIPELINE_URL ?? 'http://127.0.0.1:3000',
  flushInterval: 500
})
analytics.on('error', (error) => {
  console.error(`not delivered to the pipeline: ${error.reason ?? error.code}`)
  process.exitCode = 1
})
analytics.identify({ userId: 'ada', traits: { email: 'ada@example.com', address: { city: 'Sydney' } } })
analytics.track({ userId: 'ada', event: 'Order Completed', properties: { total: 42 } })
await analytics.closeAndFlush()
