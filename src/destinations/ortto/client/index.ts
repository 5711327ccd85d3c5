/** The Ortto client both actions use: one delivery path, one place that speaks Ortto's API. */
export { apiOrigin, isWellFormedApiKey, parseApiKey, redactApiKey } from './api-key'
export { actionHandlers } from './action-handlers'
export { deliver, toMultiStatus, toSingleResult } from './deliver'
export type { DeliveryInput, EventOutcome, Route } from './deliver'
export { prepareActivity, prepareContact } from './wire-objects'
