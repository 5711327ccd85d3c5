/** Reading a request's JSON body and writing a JSON answer, as every route of the pipeline's server does. */
import type * as http from 'node:http'
import { readBody, sendText } from 'ortto-sandbox'
import { parseJson } from '../json'
import { corsHeaders } from './cors'
import { InputError } from './errors'

/** `limitText` says what the limit is, and what to do, when a body is over it. */
export async function readJson(
  req: http.IncomingMessage,
  limit: number,
  limitText = `this route takes at most ${limit} bytes`
): Promise<unknown> {
  return (await readJsonBody(req, limit, limitText)).value
}

/** As readJson, with the body's bytes as they came. */
export async function readJsonBody(
  req: http.IncomingMessage,
  limit: number,
  limitText: string
): Promise<{ value: unknown; bytes: Buffer }> {
  const body = await readBody(req, limit)
  if (body.kind === 'aborted') throw new InputError('the request was aborted before its body arrived')
  if (body.kind === 'too-large') throw new InputError(`the body is ${body.size}; ${limitText}`, 413)
  if (body.kind === 'refused') throw new InputError(body.message, body.status)
  const value = parseJson(body.text)
  if (value === undefined) throw new InputError('the body is not valid JSON')
  return { value, bytes: body.bytes }
}

export function replyJson(req: http.IncomingMessage, res: http.ServerResponse, status: number, value: unknown): void {
  sendText(res, status, JSON.stringify(value), corsHeaders(req))
}
