import type { Verdict } from '../../client/batch-answer'

/** What breaks the invariants every answer keeps, whatever Ortto sent (empty when none). */
export function problemsOf(verdicts: Verdict[], sentCount: number): string[] {
  const problems = verdicts.length === sentCount ? [] : [`${verdicts.length} verdicts for ${sentCount} objects`]
  verdicts.forEach((verdict, i) => {
    if (verdict.ok) {
      if (Object.keys(verdict).length !== 1) problems.push(`${i}: an ok verdict with more than ok`)
      return
    }
    if (!Object.keys(verdict).every((key) => ['ok', 'failure', 'entry'].includes(key))) {
      problems.push(`${i}: unexpected keys ${Object.keys(verdict).join(',')}`)
    }
    const { status, errortype, message } = verdict.failure
    if (Object.keys(verdict.failure).length !== 3) problems.push(`${i}: failure keys`)
    if (!(Number.isInteger(status) && status >= 400 && status <= 599)) problems.push(`${i}: status ${status}`)
    if (!(typeof errortype === 'string' && errortype.length > 0)) problems.push(`${i}: errortype`)
    if (!(typeof message === 'string' && message.length > 0)) problems.push(`${i}: message`)
  })
  return problems
}

export function expectWellFormed(verdicts: Verdict[], sentCount: number): void {
  expect(problemsOf(verdicts, sentCount)).toEqual([])
}
