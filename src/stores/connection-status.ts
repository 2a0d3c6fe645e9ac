import type { ConnectionError } from './redis-client.js'

/**
 * Whether a connection is ready and why it last failed, with the listeners of both: the one
 * bookkeeping of `RedisConnection`, `RedisClusterStore` and `SentinelMaster`.
 */
export class ConnectionStatus {
  readonly #readyListeners = new Set<(ready: boolean) => void>()
  readonly #errorListeners = new Set<(error: ConnectionError) => void>()
  #ready = false
  #lastError: ConnectionError | undefined

  get ready(): boolean {
    return this.#ready
  }

  /** Why the connection last failed; cleared when it becomes ready (or `clearError()`). */
  get lastError(): ConnectionError | undefined {
    return this.#lastError
  }

  onReadyChange(listener: (ready: boolean) => void): void {
    this.#readyListeners.add(listener)
  }

  /** Called with each failure whose reason differs from the previous one. */
  onError(listener: (error: ConnectionError) => void): void {
    this.#errorListeners.add(listener)
  }

  /** Records readiness and tells the listeners when it changed; resolves whether it did. */
  setReady(ready: boolean): boolean {
    if (ready === this.#ready) return false
    this.#ready = ready
    if (ready) this.#lastError = undefined
    for (const listener of this.#readyListeners) {
      try {
        listener(ready)
      } catch (error) {
        // A throwing listener is a bug in the caller; surface it without unwinding the client.
        queueMicrotask(() => {
          throw error
        })
      }
    }
    return true
  }

  /** Records why the connection failed; the listeners hear only a reason that changed. */
  failed(error: ConnectionError): void {
    const previous = this.#lastError
    this.#lastError = error
    if (previous?.code === error.code && previous.message === error.message) return
    for (const listener of this.#errorListeners) listener(error)
  }

  clearError(): void {
    this.#lastError = undefined
  }
}
