/**
 * A small HTTP client for tests that drive a running server (the sandbox or the pipeline). Every
 * answer comes back as status + raw text + parsed JSON (undefined when not JSON); it never throws
 * for an HTTP status, only when no answer arrives at all.
 */
// The servers take every method but these with a JSON content-type only.
import { READING_METHODS } from 'ortto-sandbox'

/** A well-formed production key for the "au" region; the sandbox accepts any such key by default. */
export const TEST_API_KEY = 'pau-sandbox-test-secret'

export interface Answer {
  status: number
  headers: Headers
  text: string
  json: unknown
}

export interface CallOptions {
  /** Sent as JSON unless it is a string, which is sent as is. */
  body?: unknown
  /** The Ortto API key for `Authorization: Bearer`; `null` sends none. Default TEST_API_KEY. */
  apiKey?: string | null
  /** Segment's write key, sent as the basic-auth user name (what `curl -u key:` sends); wins over apiKey. */
  writeKey?: string | null
  /** Win over the headers set here (authorization, content-type). */
  headers?: Record<string, string>
}

/** An answer's body as JSON; undefined when it is not JSON (an empty body included). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

export const basicAuth = (writeKey: string): string => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`

export async function call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {}
  const apiKey = options.apiKey === undefined ? TEST_API_KEY : options.apiKey
  if (typeof options.writeKey === 'string') headers.authorization = basicAuth(options.writeKey)
  else if (apiKey !== null) headers.authorization = `Bearer ${apiKey}`
  if (!READING_METHODS.has(method) || options.body !== undefined) headers['content-type'] = 'application/json'
  const body =
    options.body === undefined || typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
  const response = await fetch(`${baseUrl}${path}`, { method, headers: { ...headers, ...options.headers }, body })
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, json: parseJson(text) }
}

export const post = (baseUrl: string, path: string, body: unknown, options: Omit<CallOptions, 'body'> = {}) =>
  call(baseUrl, 'POST', path, { ...options, body })

export const get = (baseUrl: string, path: string, options: Omit<CallOptions, 'body'> = {}) =>
  call(baseUrl, 'GET', path, options)

/** The sandbox tests' names for the same calls. */
export { call as callSandbox, post as postJson, get as getJson }
