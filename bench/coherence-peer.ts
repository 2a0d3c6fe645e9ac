/**
 * One peer instance for the coherence bench, in its own process: a GenericRedisCache with L1 on
 * the writer's namespace. Lines on stdin drive it; it answers JSON lines on stdout.
 * - `warm <count> <prefix>`: reads keys `<prefix><0..count-1>` into L1 once verified, then says
 *   `{"held": <L1 entries>}`.
 * - `stats`: says `{"received": <invalidations received>, "state": <coherence state>}`.
 * - `exit`: disconnects and exits.
 * Usage: tsx bench/coherence-peer.ts <redis url> <namespace>
 */
import { createInterface } from 'node:readline'
import { GenericRedisCache } from '../src/index.js'

const [url, namespace] = process.argv.slice(2)
const cache = new GenericRedisCache({ redisUrl: url ?? '', namespace: namespace ?? '', l1: { maxEntries: 100_000 } })

function say(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

async function verified(): Promise<void> {
  for (let i = 0; i < 400 && cache.getStats().coherence?.state !== 'verified'; i++) await new Promise((resolve) => setTimeout(resolve, 5))
}

async function main(): Promise<void> {
  await cache.connect()
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, count, prefix] = line.split(' ')
    if (command === 'warm') {
      await verified()
      for (let i = 0; i < Number(count); i++) await cache.get(`${prefix ?? ''}${i}`)
      say({ held: cache.getStats().l1?.entries ?? 0 })
    } else if (command === 'stats') {
      const coherence = cache.getStats().coherence
      say({ received: coherence?.invalidationsReceived ?? 0, state: coherence?.state ?? 'off' })
    } else if (command === 'exit') {
      break
    }
  }
  await cache.disconnect()
}

void main()
