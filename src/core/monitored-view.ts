import type { MonitoredCache } from '../monitoring/monitor-sink.js'
import type { Engine } from './engine.js'

/** What a monitor may read about a cache: its name, backend and memory. */
export function monitoredView(engine: Pick<Engine, 'recorder' | 'l1' | 'l2'>): MonitoredCache {
  const { l1, l2, recorder } = engine
  return {
    name: recorder.instr.name,
    backendType: l2 === undefined ? 'memory' : 'redis',
    l1Usage: () => l1 && { entries: l1.size, sizeBytes: l1.sizeBytes },
    redisUsedMemory: async () => (l2?.store.isReady ? l2.usedMemory() : undefined),
    flush: () => recorder.instr.flush(),
  }
}
