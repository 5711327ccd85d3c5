/**
 * The Ortto client every action uses: one delivery path, one place that speaks Ortto's API.
 * Ortto (Audiences) reaches the client only through this index.
 */
export { apiOrigin, isWellFormedApiKey, parseApiKey, redactApiKey } from './api-key'
export { actionHandlers } from './action-handlers'
export { requestAudience } from './audiences'
export { deliver, linkedAudience, toMultiStatus, toSingleResult } from './deliver'
export type { AudienceChoice, DeliveryInput, EventOutcome, ActionDelivery } from './deliver'
export { invalidEvent, throwFailure } from './failures'
export type { Failure } from './failures'
export { hasOwn, nonBlank } from './json'
export { prepareActivity, prepareContact } from './wire-objects'
export type { Prepared } from './wire-objects'
