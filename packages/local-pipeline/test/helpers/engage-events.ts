/**
 * Segment Engage's audience events, as Engage sends them to an audience destination: an identify
 * with `traits.<computation_key>` or a track "Audience Entered" / "Audience Exited" with
 * `properties.<computation_key>`, both with `context.personas`.
 */

/** An Engage audience: its id, its computation key and, when set, the Audience Name of its destination settings. */
export interface EngageAudience {
  computationId: string
  key: string
  audienceName?: string
}

const personasOf = ({ computationId, key, audienceName }: EngageAudience) => ({
  computation_class: 'audience',
  computation_id: computationId,
  computation_key: key,
  space_id: 'spa_test',
  ...(audienceName !== undefined && { audience_settings: { audienceName } })
})

/** The body of /v1/identify: `member` says whether the user is in the audience now. */
export const engageIdentify = (
  userId: string,
  audience: EngageAudience,
  member: boolean,
  extra: Record<string, unknown> = {}
) => ({
  userId,
  traits: { email: `${userId}@example.com`, [audience.key]: member },
  context: { personas: personasOf(audience) },
  ...extra
})

/** The body of /v1/track: "Audience Entered" when `member`, else "Audience Exited". */
export const engageTrack = (
  userId: string,
  audience: EngageAudience,
  member: boolean,
  extra: Record<string, unknown> = {}
) => ({
  userId,
  event: member ? 'Audience Entered' : 'Audience Exited',
  properties: { audience_key: audience.key, [audience.key]: member },
  context: { personas: personasOf(audience) },
  ...extra
})
