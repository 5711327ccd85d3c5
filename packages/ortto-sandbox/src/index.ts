/**
 * The sandbox package's one public module: the Ortto sandbox, and the HTTP plumbing its server
 * shares with the local pipeline's (body reading, JSON answers, the request guard), which lives
 * here because the pipeline embeds the sandbox anyway.
 */
export * from './sandbox'
export { mulberry32 } from './sandbox/faults'
export { snapshotRecord } from './sandbox/data-file/format'
export { ERROR_CODES, errorBody, readBody, sendText } from './http/http-io'
export { GUARDED_SERVER_OPTIONS, READING_METHODS, guardRequest } from './http/request-guard'
