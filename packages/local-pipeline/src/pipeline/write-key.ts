/**
 * The pipeline's write key, the one gate in front of everything that delivers with the pipeline's
 * Ortto key or reads or changes sandbox state (docs/security.md, "Who may call it"). Callers show it as the
 * basic-auth user name, as Segment's libraries and `curl -u <write key>:` send it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type * as http from 'node:http'
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { isRecord } from './json'
import { InputError } from './http/errors'

/** 24 url-safe characters (144 random bits), for a start without SEGMENT_WRITE_KEY. */
export const generateWriteKey = (): string => randomBytes(18).toString('base64url')

/** The basic-auth user name of an Authorization header, or undefined. */
function basicUser(header: string | undefined): string | undefined {
  const match = header ? /^Basic\s+(\S+)\s*$/i.exec(header) : null
  if (!match) return undefined
  return Buffer.from(match[1], 'base64').toString('utf8').split(':')[0]
}

// Equal-length digests, so the comparison takes the same time whatever was sent.
const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest()

/** Who is calling, as far as the routes need to know. */
export interface Caller {
  writeKeyShown: boolean
}

export const writeKeyRefusal = (): InputError =>
  new InputError(
    'missing or wrong write key: send the write key as the basic-auth user name (curl -u <write key>:, ' +
      "or a Segment library's writeKey); npm start prints it, SEGMENT_WRITE_KEY sets it",
    401
  )

export class WriteKeyGate {
  private readonly expected: Buffer

  constructor(
    writeKey: string,
    /** Whether the pipeline delivers to real Ortto (ORTTO_API_KEY), not to a sandbox or stand-in. */
    private readonly deliversToOrtto: boolean
  ) {
    this.expected = digest(writeKey)
  }

  shownBy(req: http.IncomingMessage): boolean {
    const given = basicUser(req.headers.authorization)
    return given !== undefined && timingSafeEqual(digest(given), this.expected)
  }

  /**
   * Whether an action-route call can ever run without the write key: only when every request the
   * destination makes goes to real Ortto. Against a sandbox or stand-in, any key reaches the same
   * state, so a call "with its own key" would still read or change it.
   */
  get ownKeyCallsOpen(): boolean {
    return this.deliversToOrtto && !process.env[LOCAL_ENDPOINT_ENV]
  }

  /**
   * Whether an action-route call with these settings may run without the write key: it must bring
   * its own api_key (so the pipeline's is not used), and be delivered to real Ortto. As serve is open.
   */
  mayRunWithoutWriteKey(settings: unknown): boolean {
    return (
      this.ownKeyCallsOpen &&
      isRecord(settings) &&
      typeof settings.api_key === 'string' &&
      settings.api_key.trim() !== ''
    )
  }
}
