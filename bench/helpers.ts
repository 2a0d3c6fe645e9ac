/**
 * Shared pieces of the benchmark: fixed payload shapes, the load runner (N operations in flight
 * for a fixed time or op count), latency percentiles and table printing.
 *
 * Nothing here knows about a cache library; scenarios combine these with `contenders.ts`.
 */
import { performance } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Packr } from 'msgpackr'

import type { RedisTarget } from './contenders.js'
import { prng } from '../tests/helpers/prng.js'

// ---------------------------------------------------------------------------------------------
// Run configuration
// ---------------------------------------------------------------------------------------------

/** How long each measured case runs. `--quick` shrinks everything for a smoke run. */
export interface RunConfig {
  readonly quick: boolean
  /** Untimed run of each case before its first measured round (JIT, connections, L1 fill). */
  readonly warmupMs: number
  /** Measured rounds per case; the cases of a workload are interleaved round by round. */
  readonly rounds: number
  /** Length of one measured round. */
  readonly roundMs: number
}

export const FULL_CONFIG: RunConfig = Object.freeze({ quick: false, warmupMs: 300, rounds: 7, roundMs: 300 })
export const QUICK_CONFIG: RunConfig = Object.freeze({ quick: true, warmupMs: 80, rounds: 1, roundMs: 200 })

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/** What `run.ts` hands to each scenario. */
export interface BenchContext {
  readonly redis: RedisTarget
  readonly config: RunConfig
  /** Progress output (stderr), so stdout holds only the tables. */
  readonly log: (message: string) => void
}

/** What a scenario reports: measured rows, target checks, and free-form facts for the JSON. */
export interface ScenarioResult {
  cases: CaseResult[]
  checks: TargetCheck[]
  /** Lines printed under the scenario's table (e.g. loader call counts, stored sizes). */
  notes: string[]
  /** A table of its own, for results that are not ops/s (e.g. the stampede). */
  table?: { headers: string[]; rows: string[][] }
  extra?: Record<string, unknown>
}

/** One file under bench/scenarios/. */
export interface Scenario {
  /** File name without `.bench.ts`, used by the argv filter. */
  readonly name: string
  readonly title: string
  run(ctx: BenchContext): Promise<ScenarioResult>
}

// ---------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------

/** The four fixed value sizes, as msgpack-encoded bytes. */
export const PAYLOAD_SIZES = { '100B': 100, '1KB': 1024, '10KB': 10 * 1024, '200KB': 200 * 1024 } as const
export type PayloadSize = keyof typeof PAYLOAD_SIZES

/**
 * The msgpackr options of strata's default serializer (src/codecs/msgpack-serializer.ts). The raw
 * `@redis/client` contender encodes and decodes with exactly these, so it pays the same decode.
 */
export const STRATA_MSGPACK_OPTIONS = Object.freeze({
  structuredClone: false,
  useRecords: true,
  moreTypes: true,
  mapsAsObjects: false,
  useBigIntExtension: true,
})

/** A record shaped like a typical API/DB row: JSON-safe, so every contender round-trips it as is. */
export interface Payload {
  id: number
  sku: string
  name: string
  email: string
  active: boolean
  score: number
  createdAt: number
  tags: string[]
  items: Array<{ id: number; title: string; qty: number; price: number }>
  bio: string
}

const sizer = new Packr(STRATA_MSGPACK_OPTIONS)

/** Encoded size with strata's msgpack options (records make repeated item shapes cheap). */
export function msgpackSize(value: unknown): number {
  return sizer.pack(value).length
}


const SYLLABLES = ['ka', 'to', 'ri', 'mo', 'ne', 'sa', 'lu', 'vi', 'da', 'po', 'ge', 'shi', 'ran', 'tor', 'mel', 'quin']

/** Text of pseudo-words: about as compressible as natural-language fields in real records. */
function words(rand: () => number, count: number): string {
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rand() * 3)
    let w = ''
    for (let j = 0; j < n; j++) w += SYLLABLES[Math.floor(rand() * SYLLABLES.length)] ?? 'x'
    out.push(w)
  }
  return out.join(' ')
}

const payloadCache = new Map<PayloadSize, Payload>()

/**
 * The fixed payload of a size class: msgpack-encoded (strata's options) within a few bytes of
 * the target. Built once per process from a fixed seed; do not mutate the returned object.
 */
export function payload(size: PayloadSize): Payload {
  const cached = payloadCache.get(size)
  if (cached) return cached
  const target = PAYLOAD_SIZES[size]
  const rand = prng(0x5eed + target)
  const value: Payload = {
    id: 4242,
    sku: 'SKU-4242',
    name: words(rand, 2),
    email: 'ada@example.com',
    active: true,
    score: 0.75,
    createdAt: 1_700_000_000_000,
    tags: [],
    items: [],
    bio: '',
  }
  if (target >= 512) value.tags = ['featured', 'sale', words(rand, 1)]
  // Grow with items (the bulk of larger records), then top up with the free-text field.
  while (msgpackSize(value) + 80 < target) {
    const n = value.items.length
    value.items.push({ id: n + 1, title: words(rand, 3), qty: 1 + (n % 7), price: Math.round(rand() * 10_000) / 100 })
  }
  while (msgpackSize(value) < target) value.bio += (value.bio === '' ? '' : ' ') + words(rand, 1)
  while (msgpackSize(value) > target && value.bio.length > 0) value.bio = value.bio.slice(0, -1)
  payloadCache.set(size, value)
  return value
}

// ---------------------------------------------------------------------------------------------
// Key sequences
// ---------------------------------------------------------------------------------------------

/**
 * A fixed sequence of `length` key indexes in [0, keys) drawn from Zipf(`s`): index r (0-based)
 * with probability proportional to 1 / (r + 1)^s, so index 0 is the hottest key. Drawn from a
 * seeded PRNG, so every contender (and every run) replays the same sequence.
 */
export function zipfSequence(keys: number, s: number, length: number, seed: number): Int32Array {
  const cdf = new Float64Array(keys)
  let total = 0
  for (let r = 0; r < keys; r++) cdf[r] = total += 1 / (r + 1) ** s
  const rand = prng(seed)
  const out = new Int32Array(length)
  for (let i = 0; i < length; i++) {
    const u = rand() * total
    let lo = 0
    let hi = keys - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((cdf[mid] ?? 0) < u) lo = mid + 1
      else hi = mid
    }
    out[i] = lo
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Latency samples
// ---------------------------------------------------------------------------------------------

/** Growable store of latency samples in µs. */
export class Samples {
  #data = new Float64Array(1 << 14)
  #length = 0

  add(us: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2)
      next.set(this.#data)
      this.#data = next
    }
    this.#data[this.#length++] = us
  }

  addAll(other: Samples): void {
    for (const v of other.values()) this.add(v)
  }

  get length(): number {
    return this.#length
  }

  values(): Float64Array {
    return this.#data.subarray(0, this.#length)
  }

  /** Percentiles (0..100) by nearest rank; NaN when empty. */
  percentiles(...ps: number[]): number[] {
    if (this.#length === 0) return ps.map(() => Number.NaN)
    const sorted = Float64Array.from(this.values()).sort()
    return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN)
  }
}

// ---------------------------------------------------------------------------------------------
// Load runner
// ---------------------------------------------------------------------------------------------

export interface LoadOptions {
  /** Operations kept in flight (closed loop: each worker starts its next op when one ends). */
  concurrency: number
  /** Stop starting new operations after this long. */
  durationMs?: number
  /** Stop after this many operations in total. */
  maxOps?: number
  /**
   * Operations timed together, one sample per batch (mean per op). For sub-µs operations a
   * per-op timer would cost more than the operation; 1 times each op on its own.
   * @default 1
   */
  batch?: number
}

export interface LoadResult {
  ops: number
  elapsedMs: number
  samples: Samples
}

/** An operation: gets the global op index (use it to vary keys). */
export type AsyncOp = (i: number) => Promise<unknown>
export type SyncOp = (i: number) => unknown

function stopRule(opts: Pick<LoadOptions, 'durationMs' | 'maxOps'>): { deadline: number; maxOps: number } {
  if (opts.durationMs === undefined && opts.maxOps === undefined) throw new Error('durationMs or maxOps is required')
  return {
    deadline: opts.durationMs === undefined ? Infinity : performance.now() + opts.durationMs,
    maxOps: opts.maxOps ?? Infinity,
  }
}

/**
 * `op`, with a turn of the event loop (setImmediate) before every `every`-th call. A loop of
 * awaited L1 hits settles in microtasks only, so without it no timer or socket is ever served:
 * that is a blocked event loop, which coherence rightly answers by refusing L1 hits. A server's
 * loop turns between requests; `every` = 1,024 is about 0.1–0.3 ms of hits.
 */
export function yieldingEvery(every: number, op: AsyncOp): AsyncOp {
  return (i) => (i % every === 0 ? new Promise<void>((resolve) => setImmediate(resolve)).then(() => op(i)) : op(i))
}

/** Keeps `concurrency` async operations in flight until the deadline or op count is reached. */
export async function runLoad(op: AsyncOp, opts: LoadOptions): Promise<LoadResult> {
  const batch = Math.max(1, opts.batch ?? 1)
  const samples = new Samples()
  const start = performance.now()
  const { deadline, maxOps } = stopRule(opts)
  let next = 0
  const worker = async (): Promise<void> => {
    let t0 = performance.now()
    while (t0 < deadline && next < maxOps) {
      for (let b = 0; b < batch; b++) await op(next++)
      const t1 = performance.now()
      samples.add(((t1 - t0) * 1000) / batch)
      t0 = t1
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker))
  return { ops: next, elapsedMs: performance.now() - start, samples }
}

/** The same for a synchronous operation (one in flight by nature). */
export function runSyncLoad(op: SyncOp, opts: Omit<LoadOptions, 'concurrency'>): LoadResult {
  const batch = Math.max(1, opts.batch ?? 1)
  const samples = new Samples()
  const start = performance.now()
  const { deadline, maxOps } = stopRule(opts)
  let next = 0
  let sink = 0
  let t0 = performance.now()
  while (t0 < deadline && next < maxOps) {
    for (let b = 0; b < batch; b++) if (op(next++) !== undefined) sink++
    const t1 = performance.now()
    samples.add(((t1 - t0) * 1000) / batch)
    t0 = t1
  }
  if (sink < 0) console.log(sink) // keeps the result observable so the call is not optimised away
  return { ops: next, elapsedMs: performance.now() - start, samples }
}

// ---------------------------------------------------------------------------------------------
// Cases: warm-up, interleaved rounds, summary
// ---------------------------------------------------------------------------------------------

/** One measured line of a table. */
export interface BenchCase {
  /** Workload label, e.g. `L2 get 1KB (L1 off)`. */
  workload: string
  contender: string
  concurrency: number
  batch?: number
  /** Informational rows are shown but never decide a target. */
  note?: string
  /** Run once before warm-up (fill the key, connect...). */
  prepare?: () => Promise<void>
  /**
   * A running count of operations that did not do their job (a read that missed, a write the
   * cache skipped or failed). Any failure in the measured rounds flags the row and voids its
   * ratios: a cache that answers "miss" at once after a timeout would otherwise look fast.
   */
  failures?: () => number
  op: { async: AsyncOp } | { sync: SyncOp }
}

export interface CaseResult {
  scenario: string
  workload: string
  contender: string
  concurrency: number
  ops: number
  /** Median over rounds. */
  opsPerSec: number
  /** (max − min) / median of the rounds' ops/s, in %; 0 with one round. */
  spreadPct: number
  p50Us: number
  p99Us: number
  /** Sample granularity: 1 = each op timed; n = mean of n-op batches. */
  batch: number
  /** Failed operations in the measured rounds (see {@link BenchCase.failures}); 0 when not tracked. */
  failures: number
  note?: string
}

/** Wraps a read so that every `undefined` result (a miss) is counted. */
export function countMisses(get: AsyncOp): { op: AsyncOp; misses: () => number } {
  let misses = 0
  return {
    op: (i) =>
      get(i).then((v) => {
        if (v === undefined) misses++
        return v
      }),
    misses: () => misses,
  }
}

/**
 * A full GC between cases, so one contender's garbage is not collected on the next one's time.
 * `npm run bench` runs under tsx without `--expose-gc`; the flag can still be set at run time.
 */
const gc: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc')
    const fn = runInNewContext('gc') as unknown
    if (typeof fn === 'function') return fn as () => void
  } catch {
    // fall through: no forced GC, results are just noisier
  }
  return () => undefined
})()

function runCaseOnce(c: BenchCase, durationMs: number): Promise<LoadResult> {
  if ('sync' in c.op) return Promise.resolve(runSyncLoad(c.op.sync, { durationMs, batch: c.batch ?? 1 }))
  return runLoad(c.op.async, { concurrency: c.concurrency, durationMs, batch: c.batch ?? 1 })
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

/**
 * Runs cases of one workload family: each is prepared and warmed up, then measured for
 * `config.rounds` rounds, interleaved and rotated (A B C, B C A, C A B, ...) so that drift on a
 * shared machine, and whatever a case leaves behind for the next, hits every contender alike.
 * A full GC runs before each measured run. Reports the median round's ops/s and percentiles of
 * all samples.
 */
export async function runCases(scenario: string, cases: BenchCase[], config: RunConfig): Promise<CaseResult[]> {
  for (const c of cases) {
    await c.prepare?.()
    await runCaseOnce(c, config.warmupMs)
  }
  const rates = cases.map((): number[] => [])
  const samples = cases.map(() => new Samples())
  const ops = cases.map(() => 0)
  const failures = cases.map(() => 0)
  for (let round = 0; round < config.rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (k + round) % cases.length
      const c = cases[i] as BenchCase
      gc()
      const failedBefore = c.failures?.() ?? 0
      const r = await runCaseOnce(c, config.roundMs)
      failures[i] = (failures[i] ?? 0) + (c.failures?.() ?? 0) - failedBefore
      rates[i]?.push((r.ops / r.elapsedMs) * 1000)
      samples[i]?.addAll(r.samples)
      ops[i] = (ops[i] ?? 0) + r.ops
    }
  }
  return cases.map((c, i) => {
    const rs = rates[i] ?? []
    const med = median(rs)
    const [p50 = Number.NaN, p99 = Number.NaN] = samples[i]?.percentiles(50, 99) ?? []
    return {
      scenario,
      workload: c.workload,
      contender: c.contender,
      concurrency: c.concurrency,
      ops: ops[i] ?? 0,
      opsPerSec: med,
      spreadPct: rs.length > 1 && med > 0 ? ((Math.max(...rs) - Math.min(...rs)) / med) * 100 : 0,
      p50Us: p50,
      p99Us: p99,
      batch: c.batch ?? 1,
      failures: failures[i] ?? 0,
      ...(c.note === undefined ? {} : { note: c.note }),
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

/** A number compared to a threshold (a ratio, or an absolute value such as a loader count). */
export interface TargetCheck {
  scenario: string
  target: string
  /** How the value was obtained, e.g. `strata / lru-cache ops/s`. */
  measure: string
  value: number
  /** `>=` threshold, `>` threshold, `==` threshold, or `info` (shown, never a failure). */
  op: '>=' | '>' | '==' | 'info'
  threshold: number
  met: boolean
  /** Set for a measured quantity that is not a ratio (e.g. `ms`): shown as `value unit`, not `value x`. */
  unit?: string
}

export function check(
  scenario: string,
  target: string,
  measure: string,
  value: number,
  op: TargetCheck['op'],
  threshold: number,
): TargetCheck {
  const met = op === 'info' || (op === '>=' ? value >= threshold : op === '>' ? value > threshold : value === threshold)
  return { scenario, target, measure, value, op, threshold, met: op === 'info' || (Number.isFinite(value) && met) }
}

/** A ratio shown beside the targets for context; never a failure. */
export function info(scenario: string, target: string, measure: string, value: number): TargetCheck {
  return check(scenario, target, measure, value, 'info', Number.NaN)
}

/** A measured quantity (not a ratio) shown beside the targets, e.g. a lag in ms; never a failure. */
export function infoValue(scenario: string, target: string, measure: string, value: number, unit: string): TargetCheck {
  return { ...info(scenario, target, measure, value), unit }
}

/**
 * ops/s of one contender in a result list, NaN when the case had failures (so a ratio built on
 * it reads `n/a` and a target fails). Throws when the case is missing (a harness bug).
 */
export function rate(results: readonly CaseResult[], workload: string, contender: string, concurrency?: number): number {
  const found = results.find(
    (r) => r.workload === workload && r.contender === contender && (concurrency === undefined || r.concurrency === concurrency),
  )
  if (!found) throw new Error(`no result for ${workload} / ${contender} / ${concurrency ?? '*'}`)
  return found.failures > 0 ? Number.NaN : found.opsPerSec
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a'
  return Math.round(n).toLocaleString('en-US')
}

export function fmtUs(n: number): string {
  if (!Number.isFinite(n)) return 'n/a'
  if (n < 10) return n.toFixed(2)
  if (n < 100) return n.toFixed(1)
  return Math.round(n).toLocaleString('en-US')
}

export function fmtRatio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}x` : 'n/a'
}

/** Plain-text table with right-aligned numeric columns (those whose header starts with a space). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.trim().length, ...rows.map((r) => (r[i] ?? '').length)))
  const right = headers.map((h) => h.startsWith(' '))
  const line = (cells: string[]): string =>
    cells.map((c, i) => (right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')
  const sep = widths.map((w) => '-'.repeat(w)).join('-|-')
  return [line(headers.map((h) => h.trim())), sep, ...rows.map(line)].join('\n')
}

/** Same table as GitHub markdown (for the README). */
export function markdownTable(headers: string[], rows: string[][]): string {
  const head = `| ${headers.map((h) => h.trim()).join(' | ')} |`
  const align = `|${headers.map((h) => (h.startsWith(' ') ? '---:' : '---')).join('|')}|`
  return [head, align, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

export const RESULT_HEADERS = ['workload', 'contender', ' in flight', ' ops/s', ' ±%', ' p50 µs', ' p99 µs', 'note']

export function resultRows(results: readonly CaseResult[]): string[][] {
  return results.map((r) => [
    r.workload,
    r.contender,
    String(r.concurrency),
    fmtInt(r.opsPerSec),
    r.spreadPct === 0 ? '-' : r.spreadPct.toFixed(0),
    fmtUs(r.p50Us),
    fmtUs(r.p99Us),
    [
      r.failures > 0 ? `FAILED: ${fmtInt(r.failures)} of ${fmtInt(r.ops)} ops missed or were skipped (ratios void)` : '',
      r.batch > 1 ? `latency = mean of ${r.batch}-op batches` : '',
      r.note ?? '',
    ]
      .filter(Boolean)
      .join('; '),
  ])
}

export const CHECK_HEADERS = ['scenario', 'target', 'measure', ' value', ' needs', 'met']

export function checkRows(checks: readonly TargetCheck[]): string[][] {
  return checks.map((c) => [
    c.scenario,
    c.target,
    c.measure,
    c.unit !== undefined ? `${Number.isInteger(c.value) ? fmtInt(c.value) : fmtUs(c.value)} ${c.unit}` : c.op === '==' ? String(c.value) : fmtRatio(c.value),
    c.op === 'info' ? '-' : c.op === '==' ? `== ${c.threshold}` : `${c.op} ${c.threshold.toFixed(2)}x`,
    c.op === 'info' ? 'info' : c.met ? 'yes' : 'NO',
  ])
}

/** Sleeps without keeping the process alive longer than needed. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
