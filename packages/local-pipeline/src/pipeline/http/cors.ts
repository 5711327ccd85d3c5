/** Which browser pages may call the pipeline: the Actions Tester's, as `./bin/run serve` allows them. */
import type * as http from 'node:http'

/**
 * Origins allowed to call from a browser: exactly those `./bin/run serve` allows (Segment's app in
 * both regions, its staging app, and a local app on port 8000), where the Actions Tester runs.
 */
const ALLOWED_ORIGINS = new Set([
  'https://app.segment.com',
  'https://eu1.app.segment.com',
  'https://app.segment.build',
  'https://eu1.app.segment.build',
  'http://localhost:8000'
])

/** What the browser guard lets through: requests without an Origin, those of serve's origins, and the console's own page. */
export const BROWSER_GUARD = { allowedOrigins: ALLOWED_ORIGINS, allowOwnOrigin: true }

export function corsHeaders(req: http.IncomingMessage): Record<string, string> {
  const origin = req.headers.origin
  if (!origin || !ALLOWED_ORIGINS.has(origin)) return {}
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'authorization, content-type',
    vary: 'origin'
  }
}
