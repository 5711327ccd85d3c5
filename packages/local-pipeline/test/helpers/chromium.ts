/** Headless Chromium for the console's browser suites: Debian's package, or CHROMIUM_PATH. */
import { existsSync } from 'node:fs'
import * as path from 'node:path'
import { chromium, type Browser } from 'playwright-core'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Flags for a container: no GPU, no sandboxing of its own (none is available as root), /tmp for shared memory. */
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking']

/** Where the browser suites save a screenshot of each view (git ignores it). */
export const SCREENSHOTS = path.join(__dirname, '..', '..', 'screenshots')

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium), or set CHROMIUM_PATH to a Chromium binary`
    )
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS })
}
