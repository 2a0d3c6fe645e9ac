/**
 * Callers that gave up on a load that never settles are not retained. In a child process run
 * with `--expose-gc`, 100,000 `getOrSet` calls (100 rounds of 1,000 concurrent callers on one
 * key, each round one load that never settles, cut by a hard timeout) must leave almost nothing
 * live once collected: a caller that timed out is detached from the load it waited on.
 *
 * The loader returns one promise that is kept alive for the whole run (as a hung socket keeps its
 * request alive), so anything the cache hangs on it per caller would stay reachable and show.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const ROUNDS = 100
const CALLERS = 1_000

const CHILD = `
import { pathToFileURL } from 'node:url'
const [root, roundsArg, callersArg] = process.argv.slice(1)
const { InMemoryCache } = await import(pathToFileURL(root + 'src/index.ts').href)
const rounds = Number(roundsArg)
const callers = Number(callersArg)
globalThis.hung = new Promise(() => undefined)
const cache = new InMemoryCache()
let timeouts = 0
let loads = 0
async function round() {
  const calls = []
  for (let i = 0; i < callers; i++) {
    calls.push(cache.getOrSet('k', () => { loads++; return globalThis.hung }, { timeout: { hard: 5 } }).catch((error) => {
      if (error.code === 'E_FACTORY_TIMEOUT') timeouts++
    }))
  }
  await Promise.all(calls)
}
function liveBytes() {
  for (let i = 0; i < 3; i++) globalThis.gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.external
}
for (let r = 0; r < 10; r++) await round()
const before = liveBytes()
const warmLoads = loads
for (let r = 0; r < rounds; r++) await round()
await new Promise((resolve) => setTimeout(resolve, 50))
const after = liveBytes()
const bytes = after - before
console.log(JSON.stringify({ bytesPerCall: bytes / (rounds * callers), bytesPerLoad: bytes / rounds, loads: loads - warmLoads, timeouts }))
`

interface Measure {
  bytesPerCall: number
  bytesPerLoad: number
  loads: number
  timeouts: number
}

async function measure(rounds: number, callers: number): Promise<Measure> {
  const args = ['--expose-gc', '--import', 'tsx', '--input-type=module', '--eval', CHILD, ROOT, String(rounds), String(callers)]
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: ROOT, maxBuffer: 1 << 20 })
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Measure
}

describe('callers of a load that never settles', () => {
  it('retain almost nothing once they timed out (100,000 calls, measured after GC)', { timeout: 120_000 }, async () => {
    const { bytesPerCall, loads, timeouts } = await measure(ROUNDS, CALLERS)
    // Every caller timed out, and each round ran one load: the others joined it.
    expect(timeouts).toBe((ROUNDS + 10) * CALLERS)
    expect(loads).toBe(ROUNDS)
    // A caller kept reachable from the hung load costs 60 bytes or more (3 KB with its timeout
    // error); the load's own state (below) is spread over its 1,000 callers.
    expect(bytesPerCall, `live bytes per call after ${ROUNDS * CALLERS} calls`).toBeLessThan(20)
  })

  it('keep only the load itself reachable from its promise: a few KB per load, whatever the callers', { timeout: 120_000 }, async () => {
    // One caller per round: the load's suspended frames, its flight and its entry draft, which
    // the loader's promise keeps alive for as long as it lives (measured: about 6 KB).
    const { bytesPerLoad, loads } = await measure(1_000, 1)
    expect(loads).toBe(1_000)
    expect(bytesPerLoad, 'live bytes per hung load').toBeLessThan(16_384)
  })
})
