/**
 * The catalog payload Segment's tooling reads for a destination, built from our definition
 * in exactly the shape Segment publishes (scripts/export/catalog/upstream-metadata.json and, for an
 * audience destination, upstream-audiences-metadata.json): every
 * key present, in the same order, `null`/`false` where the definition says nothing.
 */
import type {
  ActionDefinition,
  AudienceDestinationDefinition,
  DestinationDefinition,
  GlobalSetting,
  InputField
} from '@segment/actions-core'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Drops `undefined` (JSON has no such value) while keeping key order. */
const json = (value: unknown): Json => JSON.parse(JSON.stringify(value ?? null)) as Json

type FieldLike = Partial<InputField> & { label: string; type: string }

function fieldMetadata(field: FieldLike): Json {
  return json({
    label: field.label,
    description: field.description,
    type: field.type,
    required: field.required ?? false,
    multiple: field.multiple ?? false,
    allowNull: field.allowNull ?? false,
    dynamic: typeof field.dynamic === 'function' || field.dynamic === true,
    default: field.default ?? null,
    choices: field.choices ?? null,
    placeholder: field.placeholder ?? null,
    properties: field.properties ? fieldsMetadata(field.properties) : null,
    category: field.category ?? null,
    depends_on: field.depends_on ?? null,
    readOnly: field.readOnly ?? null,
    hidden: field.unsafe_hidden ?? null,
    minimum: field.minimum ?? null,
    maximum: field.maximum ?? null,
    defaultObjectUI: field.defaultObjectUI ?? null,
    disabledInputMethods: field.disabledInputMethods ?? null,
    displayMode: field.displayMode ?? null,
    format: field.format ?? null,
    additionalProperties: field.additionalProperties ?? false
  })
}

function fieldsMetadata(fields: Record<string, FieldLike>): Json {
  const result: Record<string, Json> = {}
  for (const [key, field] of Object.entries(fields)) result[key] = fieldMetadata(field)
  return result
}

function settingMetadata(setting: GlobalSetting): Json {
  return json({
    label: setting.label,
    description: setting.description,
    type: setting.type,
    required: setting.required ?? false,
    multiple: 'multiple' in setting ? (setting.multiple ?? false) : false,
    choices: 'choices' in setting ? (setting.choices ?? null) : null,
    default: setting.default ?? null,
    depends_on: 'depends_on' in setting ? (setting.depends_on ?? null) : null
  })
}

function hooksMetadata(action: ActionDefinition<unknown>): Json {
  if (!action.hooks) return null
  const result: Record<string, Json> = {}
  for (const [type, hook] of Object.entries(action.hooks)) {
    if (!hook) continue
    const outputs: Record<string, FieldLike> = {}
    for (const [key, output] of Object.entries(hook.outputTypes ?? {})) outputs[key] = { ...output } as FieldLike
    result[type] = {
      label: hook.label,
      description: hook.description,
      inputFields: fieldsMetadata((hook.inputFields ?? {}) as Record<string, FieldLike>),
      outputFields: fieldsMetadata(outputs)
    }
  }
  return result
}

function actionMetadata(action: ActionDefinition<unknown>): Json {
  return json({
    title: action.title,
    description: action.description,
    platform: action.platform ?? 'cloud',
    defaultSubscription: action.defaultSubscription ?? null,
    hidden: action.hidden ?? false,
    hasPerformBatch: typeof action.performBatch === 'function',
    syncMode: action.syncMode ?? null,
    hooks: hooksMetadata(action),
    dynamicFields: action.dynamicFields ? Object.keys(action.dynamicFields) : null,
    fields: fieldsMetadata(action.fields)
  })
}

/**
 * An audience destination's `audienceConfig`: its mode, its audience fields (shaped like
 * settings) and whether Segment may call its createAudience and getAudience.
 */
function audienceConfigMetadata(destination: object): Json {
  const { audienceConfig, audienceFields } = destination as Partial<AudienceDestinationDefinition>
  if (!audienceConfig) return null
  const fields: Record<string, Json> = {}
  for (const [key, setting] of Object.entries(audienceFields ?? {})) fields[key] = settingMetadata(setting)
  return json({
    mode: audienceConfig.mode,
    audienceFields: fields,
    supportsAudienceFunctions:
      typeof (audienceConfig as { createAudience?: unknown }).createAudience === 'function' &&
      typeof (audienceConfig as { getAudience?: unknown }).getAudience === 'function'
  })
}

export function catalogMetadata<Settings>(destination: DestinationDefinition<Settings>): Json {
  const settings: Record<string, Json> = {}
  for (const [key, setting] of Object.entries(destination.authentication?.fields ?? {})) {
    settings[key] = settingMetadata(setting)
  }
  const actions: Record<string, Json> = {}
  for (const [slug, action] of Object.entries(destination.actions)) {
    actions[slug] = actionMetadata(action as ActionDefinition<unknown>)
  }
  return json({
    slug: destination.slug,
    name: destination.name,
    mode: destination.mode,
    description: destination.description,
    authentication: destination.authentication ? { scheme: destination.authentication.scheme, fields: settings } : null,
    audienceConfig: audienceConfigMetadata(destination),
    actions,
    presets: (destination.presets ?? []).map((preset) => ({
      name: preset.name,
      type: preset.type,
      partnerAction: preset.partnerAction,
      subscribe: 'subscribe' in preset ? preset.subscribe : null,
      mapping: preset.mapping ?? {},
      eventSlug: 'eventSlug' in preset ? preset.eventSlug : null
    }))
  })
}
