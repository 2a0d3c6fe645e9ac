/**
 * Cross-process staleness checker for L1 coherence. One writer process and three reader
 * processes, each with its own `GenericRedisCache` (L1 on, same namespace) on a redis-server of
 * this file, 100 keys. The writer records every write it saw resolve; the readers record every
 * read; all times are CLOCK_MONOTONIC (`process.hrtime()`), one clock for every process. The
 * guarantee checked (see tests/helpers/staleness-checker.ts): once a write of a key resolved, no
 * reader returns the value it replaced more than maxStaleness (100 ms) later.
 *
 * Each scenario also proves it is not vacuous: readers got many L1 hits (the only way to be
 * stale) and many reads returned values. A negative control with coherence off must fail the
 * same check. The second suite repeats the `set` run under faults (frozen Redis, killed and
 * restarted Redis, killed tracking connections, a reader whose event loop stalls).
 *
 * Every scenario prints one summary line (writes, reads, L1 hit share, largest staleness seen);
 * a failure shows the offending reads and a timeline of every process's progress.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient } from '@redis/client'
import { describe, expect, it } from 'vitest'
import type { GenericRedisCacheOptions } from '../../../src/index.js'
import type { ReaderConfig, ReaderOutput } from '../../fixtures/coherence-reader.js'
import type { WriterConfig, WriterMode, WriterOutput } from '../../fixtures/coherence-writer.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { type RedisServer, requireRedis, useRedisServer } from '../../helpers/redis-server.js'
import { type CheckResult, checkStaleness, eventFromTuple, monotonicNowMs } from '../../helpers/staleness-checker.js'

const hasRedis = requireRedis()
const WRITER = new URL('../../fixtures/coherence-writer.ts', import.meta.url).pathname
const READER = new URL('../../fixtures/coherence-reader.ts', import.meta.url).pathname

const KEYS = 100
const READERS = 3
const MAX_STALENESS_MS = 100
/** Every scenario runs at least this long after all processes started, whatever its write count. */
const MIN_RUN_MS = 3_000
const TEST_TIMEOUT_MS = 60_000

interface Message {
  event: 'ready' | 'progress' | 'reached' | 'done' | 'crash'
  /** Monotonic ms (progress messages). */
  at?: number
  /** A reader's coherence state (progress messages). */
  state?: string
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

/** What a fault script can use while the writer runs. */
interface FaultContext {
  readonly server: RedisServer
  /** Resolved writes so far, as last reported by the writer. */
  readonly resolved: () => number
  /** Notes a fault action in the scenario's timeline. */
  readonly mark: (what: string) => void
}

interface Scenario {
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

interface ScenarioReport {
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
  /** Progress of every process and the fault actions, by time: shown when a check fails. */
  timeline: string
}

async function runScenario(server: RedisServer, scenario: Scenario): Promise<ScenarioReport> {
  const started = Date.now()
  const dir = mkdtempSync(join(tmpdir(), 'strata-staleness-'))
  const namespace = uniqueNamespace('stale')
  const keyStyle = scenario.mode === 'pattern' ? 'pattern' : 'plain'
  const fixtures: Fixture[] = []
  try {
    const readers = Array.from({ length: READERS }, (_, i) => {
      const config: ReaderConfig = {
        url: server.url,
        namespace,
        keys: KEYS,
        keyStyle,
        out: join(dir, `reader-${i}.json`),
        block: scenario.blockingReader === i,
        ...(scenario.readerOptions && { options: scenario.readerOptions }),
      }
      const reader = new Fixture(`reader ${i}`, READER, config)
      fixtures.push(reader)
      return reader
    })
    const writerConfig: WriterConfig = {
      url: server.url,
      namespace,
      mode: scenario.mode,
      writes: scenario.writes,
      out: join(dir, 'writer.json'),
      keys: KEYS,
      concurrency: 8,
      ...(scenario.writerOptions && { options: scenario.writerOptions }),
    }
    const writer = new Fixture('writer', WRITER, writerConfig)
    fixtures.push(writer)
    // Readers wait for coherence to be verified, the writer sets every key once; then all start.
    await Promise.all(fixtures.map((fixture) => fixture.waitFor('ready', 20_000)))
    for (const fixture of fixtures) fixture.send('go')
    const runStart = Date.now()
    const marks: Array<{ at: number; what: string }> = []
    const context: FaultContext = {
      server,
      resolved: () => writer.last?.resolved ?? 0,
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
      timeline: timeline(fixtures, marks),
    }
  } finally {
    for (const fixture of fixtures) fixture.kill()
    await Promise.all(fixtures.map((fixture) => fixture.exited))
    rmSync(dir, { recursive: true, force: true })
  }
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
function summarize(label: string, report: ScenarioReport): string {
  const { check, writer } = report
  const fences = report.readers.map((r) => r.stats.coherence?.fences ?? 0).join('/')
  return (
    `[staleness ${label}] ${report.elapsedMs} ms, writes ${writer.resolved} (failed ${writer.failed}, group ops ${writer.groupOperations}), ` +
    `reads ${report.reads}, L1 hits ${(report.l1HitFraction * 100).toFixed(1)}%, with value ${(report.valueFraction * 100).toFixed(1)}%, ` +
    `stale within bound ${check.staleWithinBound}, max staleness seen ${check.maxStalenessSeenMs.toFixed(1)} ms, ` +
    `unrecorded versions ${check.unrecordedVersions}, reader fences ${fences}, violations ${check.violations}`
  )
}

/** The check itself, with the evidence in the failure message. */
function expectNoViolations(label: string, report: ScenarioReport): void {
  console.log(summarize(label, report))
  const details = JSON.stringify({ examples: report.check.examples.slice(0, 5), writerFailures: report.writer.failures })
  expect(report.check.violations, `${label}: stale L1 reads past ${MAX_STALENESS_MS} ms: ${details}\ntimeline:\n${report.timeline}`).toBe(0)
}

/** Not vacuous: L1 answered a good share of the reads and most reads found a value. */
function expectExercised(report: ScenarioReport, minL1HitFraction: number, minValueFraction: number): void {
  const timeline = `timeline:\n${report.timeline}`
  expect(report.check.readsChecked).toBe(report.reads)
  expect(report.reads, timeline).toBeGreaterThan(5_000)
  expect(report.l1Hits, timeline).toBeGreaterThan(1_000)
  expect(report.l1HitFraction, timeline).toBeGreaterThan(minL1HitFraction)
  expect(report.valueFraction, timeline).toBeGreaterThan(minValueFraction)
  for (const reader of report.readers) expect(reader.stats.l1?.hits ?? 0, timeline).toBeGreaterThan(0)
}

describe.skipIf(!hasRedis)('L1 coherence across processes: no stale read past maxStaleness', () => {
  const server = useRedisServer()

  it('(a) cache.set: at least 10,000 writes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runScenario(server, { mode: 'set', writes: 10_000 })
    expectNoViolations('set', report)
    expect(report.writer.resolved).toBeGreaterThanOrEqual(10_000)
    expect(report.writer.failed).toBe(0)
    expectExercised(report, 0.2, 0.5)
    // Every write reached every reader as an invalidation (the first sets may predate a reader's session).
    for (const reader of report.readers) expect(reader.stats.coherence?.invalidationsReceived ?? 0).toBeGreaterThan(0.9 * report.writer.resolved)
  })

  // Every L1 is emptied every ~200 writes with clear and FLUSHDB: fewer hits by design.
  it.each([
    { name: '(b) a raw client: SET of encoded entries, DEL and UNLINK', mode: 'raw', groupOps: 0, l1Hits: 0.2, withValue: 0.5 },
    { name: '(c) key expiry (PEXPIRE 20 ms)', mode: 'expire', groupOps: 0, l1Hits: 0.2, withValue: 0.3 },
    { name: '(d) invalidateTags', mode: 'tags', groupOps: 20, l1Hits: 0.2, withValue: 0.5 },
    { name: '(e) invalidatePattern', mode: 'pattern', groupOps: 20, l1Hits: 0.2, withValue: 0.5 },
    { name: '(f) clear', mode: 'clear', groupOps: 5, l1Hits: 0.1, withValue: 0.3 },
    { name: '(g) FLUSHDB from a raw client', mode: 'flushdb', groupOps: 5, l1Hits: 0.1, withValue: 0.3 },
  ] as const)('$name', { timeout: TEST_TIMEOUT_MS }, async ({ mode, groupOps, l1Hits, withValue }) => {
    const report = await runScenario(server, { mode, writes: 4_000 })
    expectNoViolations(mode, report)
    expect(report.writer.failed).toBe(0)
    if (groupOps > 0) expect(report.writer.groupOperations).toBeGreaterThan(groupOps)
    expectExercised(report, l1Hits, withValue)
    // A flush empties every L1 (a fence each).
    if (mode === 'flushdb') for (const reader of report.readers) expect(reader.stats.coherence?.fences ?? 0).toBeGreaterThan(5)
  })

  it('negative control: with coherence off, the same check finds stale reads', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runScenario(server, { mode: 'set', writes: 2_000, readerOptions: { coherence: false, defaultTtl: '1h' }, minRunMs: 1_000 })
    console.log(summarize('control, coherence off', report))
    expect(report.check.violations).toBeGreaterThan(0)
    expect(report.check.maxStalenessSeenMs).toBeGreaterThan(MAX_STALENESS_MS)
    for (const reader of report.readers) expect(reader.stats.coherence?.state).toBe('off')
  })
})

/** Readers refuse L1 hits while unverified; the writer keeps one connection through stalls, so its writes stay in order. */
const FAULT_READERS: Partial<GenericRedisCacheOptions> = { coherence: { maxStaleness: MAX_STALENESS_MS, offline: 'bypass' } }
const FAULT_WRITER: Partial<GenericRedisCacheOptions> = { redis: { reconnectMaxDelay: '100ms', socketTimeout: '10s' } }

/** A `set` scenario of 4,000 writes with the fault settings, plus what the case adds (its fault). */
function runUnderFaults(server: RedisServer, scenario: Partial<Scenario>): Promise<ScenarioReport> {
  return runScenario(server, { mode: 'set', writes: 4_000, readerOptions: FAULT_READERS, writerOptions: FAULT_WRITER, ...scenario })
}

/** Waits until the writer has resolved `writes` writes. */
async function writesReached(context: FaultContext, writes: number): Promise<void> {
  while (context.resolved() < writes) await sleep(20)
}

/** One line of `CLIENT LIST`. */
interface ClientInfo {
  id: string
  flags: string
  /** Id of the client tracking invalidations are redirected to; -1 when none. */
  redir: string
}

function parseClientList(text: string): ClientInfo[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const fields = new Map(line.trim().split(' ').map((field) => field.split('=', 2) as [string, string]))
      return { id: fields.get('id') ?? '', flags: fields.get('flags') ?? '', redir: fields.get('redir') ?? '-1' }
    })
}

/** Clients with broadcast tracking on (`B` in flags): the connections whose tracking state Redis keeps. */
function broadcastTrackingClients(clients: readonly ClientInfo[]): string[] {
  return clients.filter((client) => client.flags.includes('B')).map((client) => client.id)
}

/**
 * The connections invalidations are delivered on: those broadcast-tracking clients redirect to,
 * or the broadcast-tracking clients themselves when they do not redirect.
 */
function invalidationConnections(clients: readonly ClientInfo[]): string[] {
  const tracking = clients.filter((client) => client.flags.includes('B'))
  const ids = new Set(tracking.map((client) => (client.redir === '-1' || client.redir === '0' ? client.id : client.redir)))
  return [...ids].filter((id) => clients.some((client) => client.id === id))
}

/** Runs a `set` scenario while killing, every 500 ms (5 rounds), the clients `choose` picks from `CLIENT LIST`. */
async function withConnectionKiller(server: RedisServer, choose: (clients: readonly ClientInfo[]) => string[]): Promise<{ report: ScenarioReport; killedPerRound: number[] }> {
  const admin = createClient({ url: server.url, disableOfflineQueue: true })
  admin.on('error', () => undefined)
  await admin.connect()
  const killedPerRound: number[] = []
  try {
    const report = await runUnderFaults(server, {
      fault: async (context) => {
        await writesReached(context, 300)
        for (let round = 0; round < 5; round++) {
          const reply: unknown = await admin.sendCommand(['CLIENT', 'LIST'])
          const text = typeof reply === 'string' ? reply : Buffer.isBuffer(reply) ? reply.toString('utf8') : ''
          const ids = choose(parseClientList(text))
          for (const id of ids) await admin.sendCommand(['CLIENT', 'KILL', 'ID', id])
          killedPerRound.push(ids.length)
          context.mark(`killed ${ids.join(',')}`)
          await sleep(500)
        }
      },
    })
    return { report, killedPerRound }
  } finally {
    admin.destroy()
  }
}

describe.skipIf(!hasRedis)('L1 coherence across processes under faults: no stale read past maxStaleness', () => {
  const server = useRedisServer()

  it('(h) Redis frozen (SIGSTOP) for 1 s, twice', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runUnderFaults(server, {
      fault: async (context) => {
        await writesReached(context, 500)
        for (let i = 0; i < 2; i++) {
          context.mark('SIGSTOP')
          context.server.pause()
          try {
            await sleep(1_000)
          } finally {
            context.server.resume()
            context.mark('SIGCONT')
          }
          await sleep(800)
        }
      },
    })
    expectNoViolations('SIGSTOP', report)
    expect(report.writer.failed).toBeGreaterThan(0)
    expectExercised(report, 0.1, 0.5)
    // Every reader noticed the stall (its progress, every 250 ms, showed it unverified) and came back.
    for (const reader of report.readers) expect(reader.statesSeen).toEqual(expect.arrayContaining(['verified', 'unverified']))
  })

  it('(i) Redis killed (SIGKILL) and restarted on the same port', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runUnderFaults(server, {
      fault: async (context) => {
        for (const at of [500, 2_000]) {
          await writesReached(context, at)
          context.mark('SIGKILL')
          await context.server.kill()
          await context.server.restart()
          context.mark('restarted')
          await sleep(500)
        }
      },
    })
    expectNoViolations('SIGKILL', report)
    expect(report.writer.failed).toBeGreaterThan(0)
    expectExercised(report, 0.1, 0.3)
    // Each new tracking session empties L1: the first one, then one per restart at least.
    for (const reader of report.readers) expect(reader.stats.coherence?.fences ?? 0).toBeGreaterThanOrEqual(3)
  })

  it('(j) only the invalidation connections killed (CLIENT KILL ID, every 500 ms)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { report, killedPerRound } = await withConnectionKiller(server, invalidationConnections)
    expectNoViolations('CLIENT KILL invalidation connections', report)
    // Three readers and the writer each have one, killed every round.
    expect(killedPerRound.every((n) => n >= READERS)).toBe(true)
    // Only those: no data connection (the writer's) lost a write.
    expect(report.writer.failed).toBe(0)
    expectExercised(report, 0.1, 0.5)
    // Each loss ends the session: L1 is emptied when the next one starts.
    for (const reader of report.readers) expect(reader.stats.coherence?.fences ?? 0).toBeGreaterThanOrEqual(3)
  })

  it('(j2) the connections holding broadcast tracking killed (CLIENT KILL ID of flags=...B, every 500 ms)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { report, killedPerRound } = await withConnectionKiller(server, broadcastTrackingClients)
    expectNoViolations('CLIENT KILL broadcast-tracking clients', report)
    expect(killedPerRound.every((n) => n >= READERS)).toBe(true)
    expectExercised(report, 0.1, 0.5)
    for (const reader of report.readers) expect(reader.stats.coherence?.fences ?? 0).toBeGreaterThanOrEqual(3)
  })

  it('(k) a reader whose event loop blocks for 300 ms every ~700 ms', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runUnderFaults(server, {
      blockingReader: 0,
      minRunMs: 3_000,
    })
    expectNoViolations('blocked reader', report)
    expect(report.readers[0]?.stalls).toBeGreaterThanOrEqual(3)
    expectExercised(report, 0.1, 0.5)
  })
})
