/**
 * Runner of the cross-process staleness checker (tests/integration/coherence/staleness*.int.test.ts).
 * One writer process (tests/fixtures/coherence-writer.ts) and {@link READERS} reader processes
 * (tests/fixtures/coherence-reader.ts), each with its own `GenericRedisCache` (L1 on, same
 * namespace), {@link KEYS} keys. The writer records every write it saw resolve; the readers record
 * every read; all times are CLOCK_MONOTONIC (`process.hrtime()`), one clock for every process. The
 * guarantee checked (see tests/helpers/staleness-checker.ts): once a write of a key resolved, no
 * reader returns the value it replaced more than {@link MAX_STALENESS_MS} later.
 *
 * Usage, in an integration test file:
 * ```ts
 * const report = await runScenario(server, { mode: 'set', writes: 4_000 })
 * expectNoViolations('set', report)   // prints the one-line summary, then checks
 * expectExercised(report, 0.2, 0.5)    // not vacuous: L1 hits, reads with values
 * ```
 * A failure shows the offending reads and a timeline of every process's progress.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'vitest'
import type { GenericRedisCacheOptions } from '../../src/index.js'
import type { ReaderConfig, ReaderOutput } from '../fixtures/coherence-reader.js'
import type { WriterConfig, WriterMode, WriterOutput } from '../fixtures/coherence-writer.js'
import { uniqueNamespace } from './fake-clock.js'
import { type CheckResult, checkStaleness, eventFromTuple, monotonicNowMs } from './staleness-checker.js'

const WRITER = new URL('../fixtures/coherence-writer.ts', import.meta.url).pathname
const READER = new URL('../fixtures/coherence-reader.ts', import.meta.url).pathname

/** Keys the writer writes and the readers read. */
export const KEYS = 100
/** Reader processes of every scenario. */
export const READERS = 3
/** The bound checked: how long after a write resolved a reader may still return the value it replaced. */
export const MAX_STALENESS_MS = 100
/** Every scenario runs at least this long after all processes started, whatever its write count. */
export const MIN_RUN_MS = 3_000
/** Timeout of one scenario's test. */
export const TEST_TIMEOUT_MS = 60_000

/** Readers refuse L1 hits while unverified; the fault scenarios use them. */
export const FAULT_READERS: Partial<GenericRedisCacheOptions> = { coherence: { maxStaleness: MAX_STALENESS_MS, offline: 'bypass' } }
/** The writer keeps one connection through stalls, so its writes stay in order; the fault scenarios use it. */
export const FAULT_WRITER: Partial<GenericRedisCacheOptions> = { redis: { reconnectMaxDelay: '100ms', socketTimeout: '10s' } }

/** What a reader's progress line (every 250 ms) says. */
export interface ReaderProgress {
  /** Monotonic ms. */
  at?: number
  /** Reads since its previous progress line. */
  reads?: number
  /** Coherence state. */
  state?: string
  /** L1 hits so far. */
  l1Hits?: number
  /** Reads that returned a value so far. */
  withValue?: number
  /** Fences so far: L1 emptied at the start of a tracking session. */
  fences?: number
}

interface Message extends ReaderProgress {
  event: 'ready' | 'progress' | 'reached' | 'done' | 'crash'
  resolved?: number
  failed?: number
  message?: string
}

/** A fixture process: its JSON-line messages as they arrive, and waits on them. */
class Fixture {
  readonly child: ChildProcess
  readonly name: string
  readonly exited: Promise<void>
  #messages: Message[] = []
  #waiters: Array<() => void> = []

  constructor(name: string, script: string, config: object) {
    this.name = name
    this.child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] })
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.#messages.push(JSON.parse(line) as Message)
      this.#notify()
    })
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()))
    void this.exited.then(() => this.#notify())
  }

  get last(): Message | undefined {
    return this.#messages.at(-1)
  }

  get messages(): readonly Message[] {
    return this.#messages
  }

  /** Resolves the first message of `event`; rejects on a crash, an exit, or after `timeoutMs`. */
  async waitFor(event: Message['event'], timeoutMs: number): Promise<Message> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.#messages.find((m) => m.event === event)
      if (found !== undefined) return found
      const crash = this.#messages.find((m) => m.event === 'crash')
      if (crash !== undefined) throw new Error(`${this.name} crashed: ${crash.message}`)
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before '${event}'`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${this.name}: no '${event}' within ${timeoutMs} ms (last: ${JSON.stringify(this.last)})`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250))
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  send(line: string): void {
    if (this.child.exitCode === null && this.child.stdin?.writable) this.child.stdin.write(`${line}\n`)
  }

  /** Stops the process by its pid if it is still running. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }

  #notify(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }
}

/** Where every process of a scenario connects. A `RedisServer` of tests/helpers/redis-server.ts is one. */
export interface ScenarioTarget {
  /** `redisUrl` of every cache, and the URL of the writer's raw client (modes `raw`, `expire`, `flushdb`). */
  readonly url: string
  /** Cache options of every process (readers and writer), under the scenario's own; e.g. `{ sentinel }`. */
  readonly options?: Partial<GenericRedisCacheOptions>
}

/** What a fault script can use while the writer runs. */
export interface FaultContext {
  /** Resolved writes so far, as last reported by the writer. */
  readonly resolved: () => number
  /** Each reader's last progress line (every 250 ms); `undefined` before its first one. */
  readonly readers: () => Array<ReaderProgress | undefined>
  /** Notes a fault action in the scenario's timeline. */
  readonly mark: (what: string) => void
}

/** One run of the checker: what the writer does, how the readers are set up, and the fault. */
export interface Scenario {
  mode: WriterMode
  /** Resolved writes the writer must reach. */
  writes: number
  /** Cache options of every reader. */
  readerOptions?: Partial<GenericRedisCacheOptions>
  /** Index of a reader that blocks its event loop 300 ms every ~700 ms. */
  blockingReader?: number
  writerOptions?: Partial<GenericRedisCacheOptions>
  /** Runs while the writer writes; the run ends once it is done and the writes are reached. */
  fault?: (context: FaultContext) => Promise<void>
  minRunMs?: number
}

/** What a scenario gave: the check, the writer's and readers' figures, and a timeline for failures. */
export interface ScenarioReport {
  check: CheckResult
  writer: Omit<WriterOutput, 'events'>
  readers: Array<Omit<ReaderOutput, 'key' | 'version' | 'startedAt'> & { reads: number; statesSeen: string[] }>
  reads: number
  l1Hits: number
  /** l1Hits / reads. */
  l1HitFraction: number
  /** readsWithValue / reads. */
  valueFraction: number
  elapsedMs: number
  /** Each reader's progress lines, in order (see {@link readsSince}). */
  progress: ReaderProgress[][]
  /** Progress of every process and the fault actions, by time: shown when a check fails. */
  timeline: string
}

/** Both option sets merged (the second wins), or nothing when neither is given (the fixtures' config stays as it was). */
function mergeOptions(base: Partial<GenericRedisCacheOptions> | undefined, own: Partial<GenericRedisCacheOptions> | undefined): { options?: Partial<GenericRedisCacheOptions> } {
  return base === undefined && own === undefined ? {} : { options: { ...base, ...own } }
}

/**
 * Runs one scenario: starts the readers and the writer on `target`, waits until all are ready,
 * lets them run while `scenario.fault` runs, until the writer reached `scenario.writes` and at
 * least `scenario.minRunMs` passed, then checks every read against every resolved write.
 */
export async function runScenario(target: ScenarioTarget, scenario: Scenario): Promise<ScenarioReport> {
  const started = Date.now()
  const dir = mkdtempSync(join(tmpdir(), 'strata-staleness-'))
  const namespace = uniqueNamespace('stale')
  const keyStyle = scenario.mode === 'pattern' ? 'pattern' : 'plain'
  const fixtures: Fixture[] = []
  try {
    const readers = Array.from({ length: READERS }, (_, i) => {
      const config: ReaderConfig = {
        url: target.url,
        namespace,
        keys: KEYS,
        keyStyle,
        out: join(dir, `reader-${i}.json`),
        block: scenario.blockingReader === i,
        ...mergeOptions(target.options, scenario.readerOptions),
      }
      const reader = new Fixture(`reader ${i}`, READER, config)
      fixtures.push(reader)
      return reader
    })
    const writerConfig: WriterConfig = {
      url: target.url,
      namespace,
      mode: scenario.mode,
      writes: scenario.writes,
      out: join(dir, 'writer.json'),
      keys: KEYS,
      concurrency: 8,
      ...mergeOptions(target.options, scenario.writerOptions),
    }
    const writer = new Fixture('writer', WRITER, writerConfig)
    fixtures.push(writer)
    // Readers wait for coherence to be verified, the writer sets every key once; then all start.
    await Promise.all(fixtures.map((fixture) => fixture.waitFor('ready', 20_000)))
    for (const fixture of fixtures) fixture.send('go')
    const runStart = Date.now()
    const marks: Array<{ at: number; what: string }> = []
    const context: FaultContext = {
      resolved: () => writer.last?.resolved ?? 0,
      readers: () => readers.map((reader) => reader.messages.findLast((m) => m.event === 'progress')),
      mark: (what) => marks.push({ at: monotonicNowMs(), what }),
    }
    await Promise.all([scenario.fault?.(context), writer.waitFor('reached', 40_000)])
    const minRunMs = scenario.minRunMs ?? MIN_RUN_MS
    await sleep(Math.max(0, runStart + minRunMs - Date.now()))
    writer.send('stop')
    await writer.waitFor('done', 15_000)
    for (const reader of readers) reader.send('stop')
    await Promise.all(readers.map((reader) => reader.waitFor('done', 15_000)))
    await Promise.all(fixtures.map((fixture) => fixture.exited))

    const { events, ...writerSummary } = JSON.parse(readFileSync(writerConfig.out, 'utf8')) as WriterOutput
    const outputs = readers.map((_, i) => JSON.parse(readFileSync(join(dir, `reader-${i}.json`), 'utf8')) as ReaderOutput)
    const check = checkStaleness(events.map(eventFromTuple), outputs, { maxStalenessMs: MAX_STALENESS_MS })
    const reads = outputs.reduce((sum, output) => sum + output.key.length, 0)
    const l1Hits = outputs.reduce((sum, output) => sum + (output.stats.l1?.hits ?? 0), 0)
    return {
      check,
      writer: writerSummary,
      readers: outputs.map(({ key, version: _version, startedAt: _startedAt, ...rest }, i) => ({
        reads: key.length,
        statesSeen: [...new Set(readers[i]?.messages.flatMap((m) => (m.state === undefined ? [] : [m.state])))],
        ...rest,
      })),
      reads,
      l1Hits,
      l1HitFraction: reads === 0 ? 0 : l1Hits / reads,
      valueFraction: reads === 0 ? 0 : check.readsWithValue / reads,
      elapsedMs: Date.now() - started,
      progress: readers.map((reader) => reader.messages.filter((m) => m.event === 'progress')),
      timeline: timeline(fixtures, marks),
    }
  } finally {
    for (const fixture of fixtures) fixture.kill()
    await Promise.all(fixtures.map((fixture) => fixture.exited))
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A `set` scenario of 4,000 writes with the fault settings ({@link FAULT_READERS}, {@link FAULT_WRITER}), plus what the case adds (its fault). */
export function runUnderFaults(target: ScenarioTarget, scenario: Partial<Scenario>): Promise<ScenarioReport> {
  return runScenario(target, { mode: 'set', writes: 4_000, readerOptions: FAULT_READERS, writerOptions: FAULT_WRITER, ...scenario })
}

/** Waits until the writer has resolved `writes` writes. */
export async function writesReached(context: FaultContext, writes: number): Promise<void> {
  while (context.resolved() < writes) await sleep(20)
}

/** The progress lines of every process and the fault actions, in time order, relative to the first. */
function timeline(fixtures: readonly Fixture[], marks: ReadonlyArray<{ at: number; what: string }>): string {
  const lines = [
    ...marks.map(({ at, what }) => ({ at, line: `fault: ${what}` })),
    ...fixtures.flatMap((fixture) =>
      fixture.messages.filter((m) => m.at !== undefined).map(({ at, event: _event, ...rest }) => ({ at: at as number, line: `${fixture.name}: ${JSON.stringify(rest)}` })),
    ),
  ].sort((a, b) => a.at - b.at)
  const start = lines[0]?.at ?? 0
  return lines.map(({ at, line }) => `${String(Math.round(at - start)).padStart(6)} ms ${line}`).join('\n')
}

/** One line per scenario, so a run shows what each one exercised. */
export function summarize(label: string, report: ScenarioReport): string {
  const { check, writer } = report
  const fences = report.readers.map((r) => r.stats.coherence?.fences ?? 0).join('/')
  return (
    `[staleness ${label}] ${report.elapsedMs} ms, writes ${writer.resolved} (failed ${writer.failed}, group ops ${writer.groupOperations}), ` +
    `reads ${report.reads}, L1 hits ${(report.l1HitFraction * 100).toFixed(1)}%, with value ${(report.valueFraction * 100).toFixed(1)}%, ` +
    `stale within bound ${check.staleWithinBound}, max staleness seen ${check.maxStalenessSeenMs.toFixed(1)} ms, ` +
    `unrecorded versions ${check.unrecordedVersions}, reader fences ${fences}, violations ${check.violations}`
  )
}

/** Prints the scenario's summary line, then checks no read broke the bound, with the evidence in the failure message. */
export function expectNoViolations(label: string, report: ScenarioReport): void {
  console.log(summarize(label, report))
  const details = JSON.stringify({ examples: report.check.examples.slice(0, 5), writerFailures: report.writer.failures })
  expect(report.check.violations, `${label}: stale L1 reads past ${MAX_STALENESS_MS} ms: ${details}\ntimeline:\n${report.timeline}`).toBe(0)
}

/** Reads, L1 hits and reads that returned a value, of one reader or all. */
export interface ReadCounts {
  reads: number
  l1Hits: number
  withValue: number
}

/**
 * Each reader's reads, L1 hits and reads with a value after `since` (monotonic ms), from its
 * progress lines: from the last one at or before `since` to its last one (up to 250 ms before it
 * stopped), so the three counts cover the same reads.
 */
export function readsSince(report: ScenarioReport, since: number): ReadCounts[] {
  return report.progress.map((lines) => {
    const base = lines.findLast((line) => (line.at ?? 0) <= since)
    const after = lines.filter((line) => (line.at ?? 0) > since)
    const end = after.at(-1) ?? base
    return {
      reads: after.reduce((sum, line) => sum + (line.reads ?? 0), 0),
      l1Hits: (end?.l1Hits ?? 0) - (base?.l1Hits ?? 0),
      withValue: (end?.withValue ?? 0) - (base?.withValue ?? 0),
    }
  })
}

/**
 * Not vacuous: L1 answered a good share of the reads and most reads found a value. Over the whole
 * run, or with `since` (monotonic ms) over the reads after it only (see {@link readsSince}): after
 * a long outage, say, whose instant misses (no value, no L1 hit, so never stale) outnumber the rest.
 */
export function expectExercised(report: ScenarioReport, minL1HitFraction: number, minValueFraction: number, since?: number): void {
  const timeline = `timeline:\n${report.timeline}`
  expect(report.check.readsChecked).toBe(report.reads)
  const perReader = since === undefined ? undefined : readsSince(report, since)
  const window = perReader?.reduce((sum, counts) => ({ reads: sum.reads + counts.reads, l1Hits: sum.l1Hits + counts.l1Hits, withValue: sum.withValue + counts.withValue }), { reads: 0, l1Hits: 0, withValue: 0 })
  const reads = window?.reads ?? report.reads
  const l1Hits = window?.l1Hits ?? report.l1Hits
  const what = since === undefined ? timeline : `reads after ${since.toFixed(0)} ms: ${JSON.stringify(perReader)}\n${timeline}`
  expect(reads, what).toBeGreaterThan(5_000)
  expect(l1Hits, what).toBeGreaterThan(1_000)
  expect(window === undefined ? report.l1HitFraction : l1Hits / reads, what).toBeGreaterThan(minL1HitFraction)
  expect(window === undefined ? report.valueFraction : window.withValue / reads, what).toBeGreaterThan(minValueFraction)
  const hitsPerReader = perReader?.map((counts) => counts.l1Hits) ?? report.readers.map((reader) => reader.stats.l1?.hits ?? 0)
  for (const hits of hitsPerReader) expect(hits, what).toBeGreaterThan(0)
}
