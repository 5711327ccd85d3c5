/** Errors the pipeline's HTTP layer answers with a 4xx: what was wrong with the request, and what to do. */

/** Input a client must fix; the server answers it with this status (400 unless said) and this message. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly status = 400
  ) {
    super(message)
    this.name = 'InputError'
  }
}
