/**
 * The body text of an answer. actions-core's response hook has usually read it already (as
 * `content`); reading it again from the stream is the fallback.
 */
export async function responseText(response: { text(): Promise<string> }): Promise<string> {
  const content = (response as { content?: unknown }).content
  return typeof content === 'string' ? content : response.text()
}
