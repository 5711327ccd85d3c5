import { plural } from '../log-text'

/** Thrown by `enqueue` when the pipeline holds too much already; callers answer 503. */
export class PipelineBusyError extends Error {
  constructor(pending: number) {
    super(
      `The pipeline already holds ${plural(pending, 'delivery', 'deliveries')} waiting for Ortto; try again shortly.`
    )
    this.name = 'PipelineBusyError'
  }
}
