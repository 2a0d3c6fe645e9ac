/**
 * Key rotation under load, across processes: a writer whose instances are half on `current: 1`
 * and half on `current: 2` (a rollout), then all on 2, and three readers listing both keys (one
 * on 1, one on 2, one re-encrypting on read), while `strata rekey` runs in this process. Then a
 * cache holding only key 2 must read every entry. Required: 0 wrong values, 0 misses and 0
 * `cache:error` events while both keys are listed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

import { afterAll, describe, expect, it } from 'vitest'

import { run } from '../../../src/cli/main.js'
import { GenericRedisCache } from '../../../src/index.js'
import { captureIo } from '../../helpers/cli-io.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()
const WORKER = fileURLToPath(new URL('../../fixtures/rotation-worker.ts', import.meta.url))
const KEYS = { 1: randomBytes(32).toString('base64'), 2: randomBytes(32).toString('base64') }
const ENTRIES = 40
/** Entries nobody writes or re-encrypts on read during the run: only `strata rekey` moves them. */
const COLD = 60

interface Worker {
  readonly child: ChildProcess
  next(event: string): Promise<Record<string, unknown>>
}

function startWorker(args: string[]): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ROTATION_KEYS: JSON.stringify(KEYS) },
  })
  const lines: Array<Record<string, unknown>> = []
  const waiters: Array<() => void> = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>)
    for (const wake of waiters.splice(0)) wake()
  })
  const next = async (event: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = lines.find((line) => line.event === event || line.event === 'crash')
      if (found !== undefined) {
        if (found.event === 'crash') throw new Error(`worker crashed: ${String(found.message)}`)
        return found
      }
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  return { child, next }
}

describe.skipIf(!hasRedis)('key rotation under load', () => {
  const server = useRedisServer()
  const workers: Worker[] = []
  const dir = mkdtempSync(join(tmpdir(), 'strata-rotation-'))

  afterAll(() => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  it('rotates from key 1 to key 2 with 0 wrong values and 0 misses, and the new key alone then reads every entry', async () => {
    const namespace = uniqueNamespace('rot')
    // Every entry exists under key 1 before the readers start: any miss is the rotation's fault.
    const seed = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, encryption: { keys: { 1: KEYS[1] }, current: 1 } })
    for (let i = 0; i < ENTRIES; i++) await seed.set(`k${i}`, { key: `k${i}`, version: 0 }, { ttl: '1h' })
    for (let i = 0; i < COLD; i++) await seed.set(`c${i}`, { key: `c${i}`, version: 0 }, { ttl: '1h' })
    await seed.disconnect()

    const writer = startWorker(['writer', server.url, namespace, String(ENTRIES), '0'])
    const readers = [['1'], ['2'], ['2', 'rekeyOnRead']].map((extra) => startWorker(['reader', server.url, namespace, String(ENTRIES), String(COLD), ...extra]))
    workers.push(writer, ...readers)
    for (const worker of workers) await worker.next('ready')

    await sleep(1500)
    writer.child.stdin!.write('rolled\n')
    await sleep(300)
    const keysFile = join(dir, 'keys.json')
    writeFileSync(keysFile, JSON.stringify({ keys: KEYS, current: 2 }), { mode: 0o600 })
    const io = captureIo()
    const code = await run(['rekey', '--url', server.url, '--namespace', namespace, '--keys-file', keysFile, '--batch-size', '7', '--json'], io)
    expect(code).toBe(0)
    const summary = JSON.parse(io.out) as Record<string, number>
    // The cold entries are still under key 1: the rekey rewrites them while the readers read them.
    expect(summary).toMatchObject({ scanned: ENTRIES + COLD, failed: 0 })
    expect(summary.rewritten).toBeGreaterThanOrEqual(COLD)
    expect(summary.rewritten! + summary.alreadyCurrent! + summary.changed!).toBe(ENTRIES + COLD)
    expect(io.err).toMatch(/scanned/)
    await sleep(500)

    for (const worker of workers) worker.child.stdin!.write('stop\n')
    const written = await writer.next('done')
    const reads = await Promise.all(readers.map((reader) => reader.next('done')))
    console.log(`[rotation] writes ${String(written.writes)}, reads ${reads.map((r) => String(r.reads)).join(' / ')}, rekey ${JSON.stringify(summary)}`)
    expect(written.failures).toBe(0)
    expect(written.writes as number).toBeGreaterThan(100)
    for (const result of reads) {
      expect(result.reads as number).toBeGreaterThan(100)
      expect({ misses: result.misses, wrong: result.wrong, errors: result.errors }).toEqual({ misses: 0, wrong: 0, errors: [] })
    }

    // The old key removed: every entry is under key 2 (rekey, rekeyOnRead and the rolled-out writer).
    const only2 = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, encryption: { keys: { 2: KEYS[2] }, current: 2 } })
    const errors: string[] = []
    only2.on('cache:error', ({ error }) => errors.push(error.code))
    const versions = written.versions as Record<string, number>
    for (let i = 0; i < ENTRIES; i++) expect(await only2.get(`k${i}`)).toEqual({ key: `k${i}`, version: versions[`k${i}`] })
    for (let i = 0; i < COLD; i++) expect(await only2.get(`c${i}`)).toEqual({ key: `c${i}`, version: 0 })
    expect(errors).toEqual([])
    await only2.disconnect()
  })
})
