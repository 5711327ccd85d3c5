/** The settings, presets and field tables of docs/fields.md, rendered from the destination definition. */
import type {
  AudienceDestinationDefinition,
  DestinationDefinition,
  GlobalSetting,
  InputField
} from '@segment/actions-core'
import { isRecord } from '../src/destinations/ortto/client/json'

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const code = (text: string): string => `\`${text}\``

/** A default mapping in words: paths as code, `@if exists` as "a, else b". */
function describeDefault(value: unknown): string {
  if (value === undefined) return ''
  if (!isRecord(value)) return code(JSON.stringify(value))
  if (typeof value['@path'] === 'string') return code(value['@path'])
  const condition = value['@if']
  if (isRecord(condition)) {
    const otherwise = condition.else === undefined ? '' : `, else ${describeDefault(condition.else)}`
    return `${describeDefault(condition.then)}${otherwise}`
  }
  return Object.entries(value)
    .map(([key, entry]) => `${key}: ${describeDefault(entry)}`)
    .join('; ')
}

function describeRequired(field: InputField, labels: Record<string, string>): string {
  if (field.required === true) return 'yes'
  if (isRecord(field.required)) {
    const conditions = field.required.conditions as Array<{ fieldKey?: string }>
    const absent = conditions.map((c) => (c.fieldKey ? (labels[c.fieldKey] ?? c.fieldKey) : ''))
    return `when ${absent.join(' and ')} is empty`
  }
  return 'no'
}

function describeType(field: InputField): string {
  const notes = [field.format, field.allowNull ? 'nullable' : undefined, field.unsafe_hidden ? 'hidden' : undefined]
  const extra = notes.filter(Boolean).join(', ')
  const choices = field.choices?.map((c) => (typeof c === 'string' ? c : String(c.value))).join(' / ')
  return `${field.type}${choices ? ` (${choices})` : ''}${extra ? ` (${extra})` : ''}`
}

function fieldTable(fields: Record<string, InputField>): string {
  const labels = Object.fromEntries(Object.entries(fields).map(([key, f]) => [key, f.label]))
  const rows = Object.entries(fields).map(([key, field]) =>
    [
      field.label,
      code(key),
      describeType(field),
      describeRequired(field, labels),
      describeDefault(field.default),
      field.description
    ]
      .map(cell)
      .join(' | ')
  )
  return ['| Field | Key | Type | Required | Default mapping | Description |', '|---|---|---|---|---|---|']
    .concat(rows.map((row) => `| ${row} |`))
    .join('\n')
}

function settingsTable(settings: Record<string, GlobalSetting>, label: string): string[] {
  const rows = [`| ${label} | Key | Type | Required | Description |`, '|---|---|---|---|---|']
  for (const [key, setting] of Object.entries(settings)) {
    const row = [setting.label, code(key), setting.type, setting.required ? 'yes' : 'no', setting.description]
    rows.push(`| ${row.map(cell).join(' | ')} |`)
  }
  return rows
}

/** What an audience destination adds: its audience fields and how Segment syncs audiences to it. */
function audienceParts(destination: object): string[] {
  const { audienceConfig, audienceFields } = destination as Partial<AudienceDestinationDefinition>
  if (!audienceConfig) return []
  const { mode } = audienceConfig
  const sync =
    mode.type === 'synced' ? `synced, full audience sync ${mode.full_audience_sync ? 'on' : 'off'}` : mode.type
  const functions = ['createAudience', 'getAudience'].filter(
    (name) => typeof (audienceConfig as unknown as Record<string, unknown>)[name] === 'function'
  )
  const parts = ['', '### Audience fields', '', ...settingsTable(audienceFields ?? {}, 'Field'), '']
  parts.push(`Audience mode: ${sync}${functions.length ? `; ${functions.map(code).join(' and ')}` : ''}.`)
  return parts
}

export function fieldTables<Settings>(destination: DestinationDefinition<Settings>): string {
  const parts: string[] = ['### Settings', '', ...settingsTable(destination.authentication?.fields ?? {}, 'Setting')]
  parts.push(...audienceParts(destination))
  if (destination.presets?.length) {
    parts.push('', '### Presets', '', '| Preset | Trigger | Action |', '|---|---|---|')
    for (const preset of destination.presets) {
      const trigger = 'subscribe' in preset ? code(preset.subscribe) : ''
      parts.push(`| ${[preset.name ?? '', trigger, code(preset.partnerAction)].map(cell).join(' | ')} |`)
    }
  }
  const actions = Object.entries(destination.actions)
  for (const [slug, action] of actions) {
    // A hidden action that only keeps an old key alive gets a line, not a second copy of its tables.
    const twin = action.hidden ? actions.find(([other, a]) => other !== slug && a.fields === action.fields) : undefined
    if (twin) {
      parts.push('', `### ${action.title} (${code(slug)}, hidden)`, '')
      parts.push(`Hidden from new mappings; the same fields, hook and delivery as ${code(twin[0])}.`)
      continue
    }
    parts.push('', `### ${action.title} (${code(slug)})`, '', action.description, '')
    if (action.defaultSubscription) parts.push(`Default trigger: ${code(action.defaultSubscription)}.`, '')
    parts.push(fieldTable(action.fields))
    for (const [type, hook] of Object.entries(action.hooks ?? {})) {
      if (!hook) continue
      parts.push('', `Mapping hook \`${type}\` — **${hook.label}**: ${hook.description}`, '')
      parts.push(fieldTable((hook.inputFields ?? {}) as Record<string, InputField>))
    }
  }
  return parts.join('\n') + '\n'
}
