/**
 * A one-shot node-redis connection for CLI commands: one connect attempt, no reconnects, no
 * offline queue, and a deadline on the connection and on every command, so a dead, unreachable
 * or frozen Redis ends the command with a clear message instead of a hang.
 */
import { createClient } from '@redis/client'

import { redactSecrets } from './format.js'
import { CliFailure } from './io.js'
import type { Target } from './target.js'

/** The client type the CLI uses. */
export type CliRedisClient = ReturnType<typeof createCliClient>

/** An open connection; `call` runs one command under the target's deadline. */
export interface CliConnection {
  /** The node-redis client, ready. Use it through {@link CliConnection.call}. */
  readonly client: CliRedisClient
  /**
   * Runs `command` and rejects with a {@link CliFailure} naming `what` if Redis does not answer
   * within the deadline. Error texts have URL credentials and secret fields redacted.
   */
  call<T>(what: string, command: (client: CliRedisClient) => Promise<T>): Promise<T>
  /** Destroys the socket at once (no QUIT round trip a frozen server would never answer). */
  close(): void
}

function createCliClient(target: Target) {
  return createClient({
    url: target.url,
    // One attempt: a CLI reports an unreachable server instead of retrying in the background.
    socket: { connectTimeout: target.timeoutMs, reconnectStrategy: false, ...target.tls },
    disableOfflineQueue: true,
    // Deadlines are ours (withDeadline): node-redis' timeout only covers unsent commands.
    commandOptions: { timeout: 0 },
    pingInterval: 0,
    maintNotifications: 'disabled',
  })
}

/**
 * Connects within `target.timeoutMs` (TCP, TLS and the HELLO/AUTH/SELECT handshake together).
 * @throws CliFailure saying which server (password redacted) could not be reached, and why.
 */
export async function openConnection(target: Target): Promise<CliConnection> {
  const client = createCliClient(target)
  // The first error says most (ECONNREFUSED, a TLS or protocol error); the rejection of
  // connect() is often just the "Socket closed unexpectedly" that follows it.
  let firstError: unknown
  // Without a listener node-redis' 'error' events would crash the process.
  client.on('error', (error: unknown) => (firstError ??= error))
  const close = (): void => {
    if (client.isOpen) client.destroy()
  }
  try {
    await withDeadline(client.connect(), target.timeoutMs)
  } catch (error) {
    close()
    const timedOut = `no answer within ${target.timeoutMs} ms (--timeout)`
    const reason = firstError !== undefined ? describeError(firstError) : error instanceof DeadlineError ? timedOut : describeError(error)
    const text = `cannot connect to Redis at ${target.displayUrl}: ${reason}`
    throw new CliFailure(redactSecrets(text), { cause: error })
  }
  const call = async <T>(what: string, command: (c: CliRedisClient) => Promise<T>): Promise<T> => {
    try {
      return await withDeadline(command(client), target.timeoutMs)
    } catch (error) {
      if (!(error instanceof DeadlineError)) {
        throw new CliFailure(redactSecrets(`Redis ${what} failed: ${describeError(error)}`), { cause: error })
      }
      close()
      throw new CliFailure(`Redis did not answer ${what} within ${target.timeoutMs} ms (--timeout); is the server busy or frozen?`, { cause: error })
    }
  }
  return { client, call, close }
}

/** A promise did not settle within its deadline. */
export class DeadlineError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`)
    this.name = 'DeadlineError'
  }
}

/** Settles like `promise`, or rejects with {@link DeadlineError} after `timeoutMs`. */
export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  // A late rejection of `promise` is not unhandled: Promise.race has subscribed to it.
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(timeoutMs)), timeoutMs)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** One line for an error; Node reports a refused dual-stack connect as an AggregateError with no message. */
function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0])
  if (error instanceof Error) return error.message === '' ? error.name : error.message
  return String(error)
}
