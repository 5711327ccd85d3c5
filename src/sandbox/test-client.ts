/**
 * A small client for tests and scripts that drive a running sandbox over HTTP. It returns
 * every answer as status + raw text + parsed JSON (undefined when not JSON), and never throws
 * for an HTTP status, only when no answer arrives at all.
 */

/** A well-formed production key for the "au" region; any such key is accepted by default. */
export const TEST_API_KEY = 'pau-sandbox-test-secret'

export interface SandboxAnswer {
  status: number
  headers: Headers
  text: string
  json: unknown
}

export interface CallOptions {
  /** Sent as JSON unless it is a string, which is sent as is. */
  body?: unknown
  /** The API key for the Authorization header; `null` sends no header. Default TEST_API_KEY. */
  apiKey?: string | null
  headers?: Record<string, string>
}

export async function callSandbox(
  baseUrl: string,
  method: string,
  path: string,
  options: CallOptions = {}
): Promise<SandboxAnswer> {
  const headers: Record<string, string> = { ...options.headers }
  const apiKey = options.apiKey === undefined ? TEST_API_KEY : options.apiKey
  if (apiKey !== null) headers.authorization = `Bearer ${apiKey}`
  let body: string | undefined
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
    headers['content-type'] = 'application/json'
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body })
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text) as unknown
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}

export const postJson = (baseUrl: string, path: string, body: unknown, options: Omit<CallOptions, 'body'> = {}) =>
  callSandbox(baseUrl, 'POST', path, { ...options, body })

export const getJson = (baseUrl: string, path: string, options: Omit<CallOptions, 'body'> = {}) =>
  callSandbox(baseUrl, 'GET', path, options)
