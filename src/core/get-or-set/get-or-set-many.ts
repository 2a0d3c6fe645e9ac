import { FactoryError, InvalidOptionsError } from '../../errors.js'
import type { ResolvedGetOrSetPolicy } from '../../options/get-or-set-options.js'
import type { CacheEntry } from '../../shared/cache-entry.js'
import type { ManyLoader } from '../cache-interface.js'
import { type CacheStack, type EntryWrite, isFresh } from '../cache-stack.js'
import type { Flight, SingleFlight } from '../single-flight.js'

/** What `getOrSetMany` needs from the cache. */
export interface GetOrSetManyParams<T> {
  readonly stack: CacheStack
  readonly flights: SingleFlight
  readonly keys: readonly string[]
  readonly loader: ManyLoader<T>
  readonly policy: ResolvedGetOrSetPolicy
}

/**
 * L1 pass, one MGET for the rest, then one loader call for what is still missing. Each missing
 * key gets its own flight, so a concurrent `getOrSet` of that key joins this load, and keys
 * another caller is already loading are awaited rather than loaded twice.
 */
export async function getOrSetMany<T>(params: GetOrSetManyParams<T>): Promise<Array<T | undefined>> {
  const { stack, flights, keys } = params
  const values = new Map<string, Promise<T | undefined> | T | undefined>()
  const toRead: string[] = []
  for (const key of new Set(keys)) {
    const local = stack.readLocal(key)
    const running = flights.get<T | undefined>(key)
    if (local !== undefined) values.set(key, local.value as T)
    else if (running !== undefined) values.set(key, running.promise)
    else toRead.push(key)
  }
  const stale = new Map<string, CacheEntry>()
  const toLoad: string[] = []
  const entries = (await stack.l2?.readMany(toRead)) ?? []
  toRead.forEach((key, i) => {
    const entry = stack.afterRemoteRead(key, entries[i])
    if (entry !== undefined && isFresh(entry, stack.now())) values.set(key, entry.value as T)
    else {
      if (entry !== undefined) stale.set(key, entry)
      toLoad.push(key)
    }
  })
  if (toLoad.length > 0) loadMissing(params, toLoad, stale, values)
  return Promise.all(keys.map((key) => Promise.resolve(values.get(key))))
}

function loadMissing<T>(
  params: GetOrSetManyParams<T>,
  toLoad: string[],
  stale: Map<string, CacheEntry>,
  values: Map<string, Promise<T | undefined> | T | undefined>,
): void {
  const own = new Map<string, Flight<T | undefined>>()
  let startBatch!: () => void
  const batchReady = new Promise<void>((resolve) => (startBatch = resolve))
  for (const key of toLoad) {
    // A key started meanwhile by someone else keeps its flight; this batch only loads its own.
    const flight = params.flights.run<T | undefined>(key, key, async (f) => {
      own.set(key, f)
      await batchReady
      return (await batch).get(key)
    })
    values.set(key, flight.promise.catch((error: unknown) => fallback(key, stale, error)))
  }
  const batch = runBatch(params, [...own.keys()], own)
  startBatch()
  batch.catch(() => undefined)
}

async function runBatch<T>(params: GetOrSetManyParams<T>, keys: string[], flights: Map<string, Flight<T | undefined>>) {
  if (keys.length === 0) return new Map<string, T>()
  let loaded: Map<string, T>
  try {
    loaded = await params.loader(keys)
  } catch (error) {
    throw new FactoryError(keys.join(', '), error)
  }
  if (!(loaded instanceof Map)) {
    throw new InvalidOptionsError([{ path: 'loader', message: 'getOrSetMany loaders must resolve a Map of key to value' }])
  }
  const writes: EntryWrite[] = []
  for (const key of keys) {
    const value = loaded.get(key)
    if (value === undefined || flights.get(key)?.invalidated) continue
    writes.push({ key, entry: params.stack.entry(key, value, params.policy) })
  }
  if (writes.length > 0) await params.stack.write(writes)
  return loaded
}

/** On a loader failure, a key with a stale (graced) value gets it; the others get the error. */
function fallback<T>(key: string, stale: Map<string, CacheEntry>, error: unknown): T {
  const entry = stale.get(key)
  if (entry === undefined) throw error
  return entry.value as T
}
