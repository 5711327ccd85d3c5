/**
 * The message of anything thrown. Duck-typed rather than `instanceof Error`: hooks and dynamic
 * fields report theirs as plain `{message, code}` objects, and errors of Node's native code can
 * come from another realm (e.g. under jest) and fail that test.
 */
export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message
  return typeof message === 'string' ? message : String(error)
}
