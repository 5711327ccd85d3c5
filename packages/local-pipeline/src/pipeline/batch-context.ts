/**
 * The `context` of a /v1/batch body, which Segment merges into every call of the batch (the call's
 * own keys win). A small body can name thousands of context keys and thousands of calls, so nothing
 * here costs more than the body's own size: the shared context is measured and checked once, each
 * call's size with it is computed from that and the call's own context (no copy is made to measure
 * it), and the merged context is one shared, frozen object wherever it can be.
 */
import type { JSONObject } from '@segment/actions-core'
import { deepFreeze, lostKeyProblem, LOST_KEY, structureProblem, type StructureNode } from './event-structure'
import { jsonBytes } from './ingest-limits'

/**
 * Context keys one /v1/batch call may copy into merged contexts. The merge is a copy only for calls
 * that bring a context of their own (one copy per distinct own context), and costs a key per key:
 * this many take about 50 ms on a 2-core machine (`npm run bench` times such a call). Segment's
 * libraries send no batch context at all; a batch context of 40 keys still reaches 2,500 calls that
 * each have a different context of their own.
 */
export const MAX_CONTEXT_KEYS_COPIED = 100_000

/** Bytes of a JSON object whose entries (`"key":value`) take `entryBytes` in all. */
const objectBytes = (entryBytes: number, count: number) => 2 + entryBytes + Math.max(0, count - 1)

/** `"context":` and the comma before it: what a call without a context gains with the batch's. */
const CONTEXT_ENTRY_OVERHEAD = jsonBytes('context') + 2

type Inherited = { context: JSONObject; bytes: number } | { problem: string }

/**
 * The contexts the calls of one batch get, as Segment merges them: the batch's own for a call that
 * has none (or an empty one), else the call's merged over it (its keys win). The batch's context is
 * frozen and shared by every call that gets it; calls with the same context of their own share one
 * frozen merged copy. (BatchContext bounds what such copies may cost at ingest; the spool rebuilds
 * taken calls with this alone.)
 */
export class InheritedContexts {
  /** Merged contexts made so far, by the JSON of the own context they were made for. */
  private readonly merged = new Map<string, JSONObject>()

  constructor(readonly shared: JSONObject) {
    // Every call of the batch may hold it: none may change it for the others.
    deepFreeze(shared)
  }

  /** The context of a call whose own context is `own`. */
  of(own: JSONObject | undefined): JSONObject {
    if (own === undefined || Object.keys(own).length === 0) return this.shared
    const ownText = JSON.stringify(own)
    return this.made(ownText) ?? this.merge(own, ownText)
  }

  /** The merged copy already made for an own context with this JSON. */
  made(ownText: string): JSONObject | undefined {
    return this.merged.get(ownText)
  }

  /** Makes the merged copy for `own` (whose JSON is `ownText`). */
  merge(own: JSONObject, ownText: string): JSONObject {
    const context: JSONObject = { ...this.shared, ...own }
    // The batch's values are frozen already; only the call's own need walking.
    Object.freeze(context)
    deepFreeze(own)
    this.merged.set(ownText, context)
    return context
  }
}

export class BatchContext {
  /** Bytes of each key's entry (`"key":value`), and the problem of each key that has one. */
  private readonly entryBytes = new Map<string, number>()
  private readonly problems = new Map<string, string>()
  private readonly entriesTotal: number
  /** The batch's context as JSON, in bytes. */
  readonly bytes: number
  private readonly contexts: InheritedContexts
  /** Keys copied into merged contexts so far: the cost MAX_CONTEXT_KEYS_COPIED bounds. */
  keysCopied = 0

  constructor(private readonly shared: JSONObject) {
    const contextNode: StructureNode = { value: shared, depth: 2, parent: { value: {}, depth: 1 }, key: 'context' }
    let total = 0
    for (const key of Object.keys(shared)) {
      const value = shared[key]
      const problem =
        key === LOST_KEY
          ? lostKeyProblem(`context.${key}`)
          : typeof value === 'object' && value !== null
            ? structureProblem({ value, depth: 3, parent: contextNode, key })
            : undefined
      if (problem) {
        this.problems.set(key, problem)
        continue
      }
      const bytes = jsonBytes(key) + 1 + jsonBytes(value)
      this.entryBytes.set(key, bytes)
      total += bytes
    }
    this.entriesTotal = total
    this.bytes = objectBytes(total, this.entryBytes.size)
    this.contexts = new InheritedContexts(shared)
  }

  /**
   * What a call of `callBytes` bytes (as sent, own context included) inherits: its context merged
   * with the batch's and its size then, or the problem of a batch context key it does not replace.
   * `own` has been checked already (an object, nothing too deep in it). A merged copy is made only
   * when the call's size is within `maxBytes`, and only while MAX_CONTEXT_KEYS_COPIED allows.
   */
  inherit(own: JSONObject | undefined, callBytes: number, maxBytes: number): Inherited {
    for (const [key, problem] of this.problems) {
      if (own === undefined || !Object.hasOwn(own, key)) return { problem }
    }
    const ownKeys = own === undefined ? [] : Object.keys(own)
    if (own === undefined) {
      return { context: this.shared, bytes: callBytes + CONTEXT_ENTRY_OVERHEAD + this.bytes }
    }
    const ownText = JSON.stringify(own)
    const ownBytes = Buffer.byteLength(ownText, 'utf8')
    let entries = ownBytes - objectBytes(0, ownKeys.length)
    let count = ownKeys.length + this.entryBytes.size
    let sharedEntries = this.entriesTotal
    for (const key of ownKeys) {
      const replaced = this.entryBytes.get(key)
      if (replaced === undefined) continue
      sharedEntries -= replaced
      count--
    }
    entries += sharedEntries
    const bytes = callBytes - ownBytes + objectBytes(entries, count)
    if (bytes > maxBytes || ownKeys.length === 0) return { context: this.shared, bytes }

    const made = this.contexts.made(ownText)
    if (made) return { context: made, bytes }
    if (this.keysCopied + count > MAX_CONTEXT_KEYS_COPIED) {
      return {
        problem:
          `this call has a context of its own, so the batch's context (${this.entryBytes.size} keys) would be copied into it, ` +
          `and this batch has already copied ${this.keysCopied.toLocaleString('en-US')} context keys, the most one batch may ` +
          `(${MAX_CONTEXT_KEYS_COPIED.toLocaleString('en-US')}): put the shared context in each call, or send fewer calls per batch`
      }
    }
    this.keysCopied += count
    return { context: this.contexts.merge(own, ownText), bytes }
  }
}
