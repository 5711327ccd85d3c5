/** The steps of `npm run check:monorepo` (see scripts/check-monorepo.ts for what each proves) and a step's result. */
export const STEP_NAMES = ['imports', 'build', 'generated', 'prettier', 'eslint', 'jest'] as const
export type StepName = (typeof STEP_NAMES)[number]

export interface StepResult {
  name: StepName
  ok: boolean
  seconds: number
  /** What went wrong, ready to print; a short summary when it passed. */
  detail: string
}
