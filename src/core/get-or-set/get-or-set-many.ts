import { FactoryError, InvalidOptionsError } from '../../errors.js'
import type { ResolvedGetOrSetPolicy } from '../../options/get-or-set-options.js'
import type { ManyLoader } from '../cache-interface.js'
import type { Engine, EntryWrite, StaleHolder } from '../engine.js'
import type { Flight } from '../single-flight.js'
import type { GetOrSetEngine } from './get-or-set-handler.js'

/** What `getOrSetMany` needs. */
export interface GetOrSetManyParams<T> {
  readonly engine: GetOrSetEngine & Pick<Engine, 'readMany'>
  readonly keys: readonly string[]
  readonly loader: ManyLoader<T>
  readonly policy: ResolvedGetOrSetPolicy
}

/**
 * The engine's many-key read (an L1 pass, one MGET), then one loader call for what is still
 * missing. Each missing key gets its own flight, so a concurrent `getOrSet` of that key joins
 * this load, and keys another caller is already loading are awaited rather than loaded twice.
 */
export async function getOrSetMany<T>(params: GetOrSetManyParams<T>): Promise<Array<T | undefined>> {
  const { engine } = params
  const unique = [...new Set(params.keys)]
  const values = new Map<string, Promise<T | undefined> | T | undefined>()
  const toRead: string[] = []
  for (const key of unique) {
    const running = engine.flights.get<T | undefined>(key)
    if (running !== undefined) values.set(key, running.promise)
    else toRead.push(key)
  }
  const stale = new Map<string, StaleHolder>(toRead.map((key) => [key, { stale: undefined }]))
  const entries = await engine.readMany(toRead, stale)
  const toLoad: string[] = []
  toRead.forEach((key, i) => {
    const entry = entries[i]
    if (entry !== undefined) values.set(key, entry.value as T)
    else toLoad.push(key)
  })
  if (toLoad.length > 0) loadMissing(params, toLoad, stale, values)
  return Promise.all(params.keys.map((key) => Promise.resolve(values.get(key))))
}

function loadMissing<T>(
  params: GetOrSetManyParams<T>,
  toLoad: string[],
  stale: Map<string, StaleHolder>,
  values: Map<string, Promise<T | undefined> | T | undefined>,
): void {
  const { engine, policy } = params
  const own = new Map<string, Flight<T | undefined>>()
  let startBatch!: () => void
  const batchReady = new Promise<void>((resolve) => (startBatch = resolve))
  const ticket = engine.ticket()
  for (const key of toLoad) {
    // A key started meanwhile by someone else keeps its flight; this batch only loads its own.
    const flight = engine.flights.run<T | undefined>({ flightKey: key, key, ticket, tags: policy.tags }, async (f) => {
      own.set(key, f)
      f.stale = stale.get(key)?.stale ?? engine.staleLocal(key)
      await batchReady
      return (await batch).get(key)
    })
    values.set(key, flight.promise.catch((error: unknown) => fallback(flight, error)))
  }
  const batch = runBatch(params, [...own.keys()], ticket)
  startBatch()
  batch.catch(() => undefined)
}

async function runBatch<T>(params: GetOrSetManyParams<T>, keys: string[], ticket: number): Promise<Map<string, T>> {
  if (keys.length === 0) return new Map<string, T>()
  const { engine, policy } = params
  const guard = await engine.loadGuard(ticket)
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
    if (value !== undefined) writes.push({ key, entry: engine.entry(key, value, policy) })
  }
  // The engine drops the writes of keys an invalidation overtook since the batch's ticket.
  if (writes.length > 0) await engine.write(writes, guard)
  return loaded
}

/** On a failure, a key with a stale (graced) value gets it; the others get the error. */
function fallback<T>(flight: Flight<T | undefined>, error: unknown): T {
  const entry = flight.stale
  if (entry === undefined) throw error
  return entry.value as T
}
