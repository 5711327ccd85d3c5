/** Why the export will not go ahead, and what to do about it; the CLI prints both and exits 1. */
export class ExportRefusal extends Error {
  constructor(
    readonly reason: string,
    readonly remedy: string
  ) {
    super(`${reason}\n${remedy}`)
    this.name = 'ExportRefusal'
  }
}
