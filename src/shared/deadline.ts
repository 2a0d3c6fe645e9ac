/** Rejection used when a Redis call misses its deadline. */
export class DeadlineExceeded extends Error {
  /** Node's code for a timed-out operation, so it reads like a socket timeout where a reason is shown. */
  readonly code = 'ETIMEDOUT'
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation} did not answer within ${timeoutMs}ms`)
    this.name = 'DeadlineExceeded'
  }
}

/**
 * Settles with `promise`, or rejects with {@link DeadlineExceeded} after `timeoutMs`.
 * The underlying command is not cancelled (Redis has no cancel); the caller simply stops waiting.
 */
export function withDeadline<T>(promise: Promise<T>, timeoutMs: number, operation: string): Promise<T> {
  // One promise and one timer per call (no Promise.race): this wraps every L2 command.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineExceeded(operation, timeoutMs)), timeoutMs)
    // A pending deadline alone must not keep the process alive.
    timer.unref()
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: Error) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
