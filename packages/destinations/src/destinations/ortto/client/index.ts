/** The Ortto client every action uses: one delivery path, one place that speaks Ortto's API. */
export { apiOrigin, isWellFormedApiKey, parseApiKey, redactApiKey } from './api-key'
export { actionHandlers } from './action-handlers'
export { deliver, linkedAudience, toMultiStatus, toSingleResult } from './deliver'
export type { AudienceChoice, DeliveryInput, EventOutcome, Route } from './deliver'
export { prepareActivity, prepareContact } from './wire-objects'
