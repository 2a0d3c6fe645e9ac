/**
 * One upstream stream, recorded chunk by chunk and read by one or more consumers: the first
 * request that misses starts it, identical requests arriving while it runs read the same
 * chunks from the start, and the complete chunk list is handed over for storing only when the
 * upstream finished normally.
 *
 * Lifecycle: `idle` (nobody has read yet) → `running` (a pump reads the upstream as fast as it
 * produces and wakes the consumers) → one of
 * - `storing` → `done`: the upstream ended normally; `onEnd('done')` runs before consumers see
 *   the end, so a request made after a stream ended finds its entry;
 * - `failed`: the upstream threw; every consumer gets that error;
 * - `cancelled`: every consumer called `return()` (`break`) before the end; the upstream is
 *   cancelled through its own `return()`.
 * The pump reads ahead of slow consumers. That gives up backpressure, which model streams do
 * not need (they are paced by the model), and keeps one slow consumer from stalling the others.
 */
export type StreamOutcome = 'done' | 'failed' | 'cancelled'

type State = 'idle' | 'running' | 'storing' | StreamOutcome

export class StreamFlight<C> {
  /** Chunks received so far, in order. Not modified once the flight has ended. */
  readonly chunks: C[] = []
  readonly #source: AsyncIterable<C>
  /** Called once with the outcome; must not reject. */
  readonly #onEnd: (outcome: StreamOutcome, chunks: readonly C[]) => Promise<void>
  #state: State = 'idle'
  #error: unknown
  #consumers = 0
  #iterator: AsyncIterator<C> | undefined
  #waiting: Array<() => void> = []

  constructor(source: AsyncIterable<C>, onEnd: (outcome: StreamOutcome, chunks: readonly C[]) => Promise<void>) {
    this.#source = source
    this.#onEnd = onEnd
  }

  /** Whether new consumers can still join (the upstream has not failed or been cancelled). */
  get joinable(): boolean {
    return this.#state === 'idle' || this.#state === 'running' || this.#state === 'storing'
  }

  /** A new consumer that reads every chunk from the first one. Counted from now, not from its first read. */
  consume(): AsyncIterableIterator<C> {
    this.#consumers++
    let index = 0
    let open = true
    const close = (): void => {
      if (!open) return
      open = false
      this.#detach()
    }
    const iterator: AsyncIterableIterator<C> = {
      next: async () => {
        if (!open) return { done: true, value: undefined }
        this.#start()
        for (;;) {
          if (index < this.chunks.length) return { done: false, value: this.chunks[index++] as C }
          if (this.#state === 'failed') {
            close()
            throw this.#error
          }
          if (this.#state === 'done' || this.#state === 'cancelled') {
            close()
            return { done: true, value: undefined }
          }
          await new Promise<void>((resolve) => this.#waiting.push(resolve))
        }
      },
      return: () => {
        close()
        return Promise.resolve({ done: true, value: undefined })
      },
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }

  #start(): void {
    if (this.#state !== 'idle') return
    this.#state = 'running'
    const iterator = this.#source[Symbol.asyncIterator]()
    this.#iterator = iterator
    void this.#pump(iterator).catch(() => undefined)
  }

  async #pump(iterator: AsyncIterator<C>): Promise<void> {
    try {
      for (;;) {
        const result = await iterator.next()
        // Cancelled while waiting: the consumers are gone and nothing may be stored.
        if (this.#state !== 'running') return
        if (result.done === true) break
        this.chunks.push(result.value)
        this.#wake()
      }
    } catch (error) {
      if (this.#state !== 'running') return
      this.#error = error
      return this.#end('failed')
    }
    this.#state = 'storing'
    try {
      await this.#onEnd('done', this.chunks)
    } finally {
      this.#state = 'done'
      this.#wake()
    }
  }

  #detach(): void {
    this.#consumers--
    if (this.#consumers > 0 || (this.#state !== 'idle' && this.#state !== 'running')) return
    // Every reader left before the end: stop the upstream (no more tokens billed) and store nothing.
    const iterator = this.#iterator ?? this.#source[Symbol.asyncIterator]()
    this.#end('cancelled')
    void Promise.resolve()
      .then(() => iterator.return?.())
      .catch(() => undefined)
  }

  #end(outcome: 'failed' | 'cancelled'): void {
    this.#state = outcome
    this.#wake()
    void this.#onEnd(outcome, this.chunks)
  }

  #wake(): void {
    const waiting = this.#waiting
    this.#waiting = []
    for (const resolve of waiting) resolve()
  }
}
