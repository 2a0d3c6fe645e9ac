import { InvalidOptionsError } from '../errors.js'
import { escapeGlob } from '../shared/key.js'
import { withDeadline } from '../shared/deadline.js'
import type { RemoteStore } from '../stores/store.js'

/** Options of `GenericRedisCache.scanKeys`. */
export interface ScanKeysOptions {
  /**
   * Keys asked of Redis per `SCAN` step (its `COUNT` hint), 1 to 10,000. Each step is one round
   * trip with the read deadline.
   * @default 1000
   */
  batchSize?: number
}

/** What {@link scanNamespace} scans with. */
export interface KeyScanParams {
  readonly store: RemoteStore
  readonly namespace: string
  /** Deadline of each SCAN round trip, in ms. */
  readonly timeoutMs: number
}

/** `batchSize`, checked: an integer in 1..10,000. */
export function resolveScanBatchSize(options: ScanKeysOptions | undefined): number {
  const batchSize = options?.batchSize ?? 1000
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new InvalidOptionsError([{ path: 'batchSize', message: `expected an integer from 1 to 10000; got ${String(batchSize)}` }])
  }
  return batchSize
}

/**
 * Keys of a namespace matching a glob, without the prefix, one SCAN batch at a time: memory
 * stays flat whatever the namespace's size, and a consumer that stops early stops the scan.
 * A key may come twice while Redis resizes its tables (as with any SCAN); keys written or
 * expiring during the scan may or may not come.
 */
export async function* scanNamespace(params: KeyScanParams, pattern: string, batchSize: number): AsyncGenerator<string, void, undefined> {
  const prefix = `${params.namespace}:`
  const batches = params.store.scan(`${escapeGlob(params.namespace)}:${pattern}`, batchSize)[Symbol.asyncIterator]()
  for (;;) {
    const next = await withDeadline(batches.next(), params.timeoutMs, 'L2 scan step')
    if (next.done === true) return
    let consumed = false
    try {
      for (const fullKey of next.value) yield fullKey.slice(prefix.length)
      consumed = true
    } finally {
      // A consumer that stops early stops the scan. Only between steps: a return() queued behind
      // a step that missed its deadline would wait for that step as long as it takes.
      if (!consumed) void stopEarly(batches)
    }
  }
}

/** Releases the store's iterator when the consumer left (not when it asks for more). */
async function stopEarly(batches: AsyncIterator<string[]>): Promise<void> {
  await batches.return?.().catch(() => undefined)
}
