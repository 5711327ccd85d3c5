/**
 * The sandbox's data file cannot be used. The message names the file, says what is wrong and
 * what to do about it, and is meant to be shown as is (one line, no stack trace needed).
 */
export class SandboxDataError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SandboxDataError'
  }
}

/**
 * The message of anything thrown. Duck-typed rather than `instanceof Error`, because errors
 * made by Node's native code can come from another realm (e.g. under jest) and fail that test.
 */
export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message
  return typeof message === 'string' ? message : String(error)
}

/** The code of a Node.js system error (ENOENT, EACCES…), if it is one. */
export const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code
