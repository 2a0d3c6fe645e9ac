import { createHash } from 'node:crypto'
import { ErrorReply } from '@redis/client'

/** A Lua script and its SHA-1, so it is sent by hash after the first call. */
export interface LuaScript {
  readonly body: string
  readonly sha: string
}

/** Declares a script; one script per file under `stores/scripts/`. */
export function defineScript(body: string): LuaScript {
  return Object.freeze({ body, sha: createHash('sha1').update(body).digest('hex') })
}

/** The part of a node-redis client that scripts need. */
interface ScriptClient {
  sendCommand(args: Array<string | Buffer>): Promise<unknown>
}

/**
 * Runs a script with EVALSHA, sending the body once with EVAL when Redis does not know it yet
 * (after a restart or SCRIPT FLUSH).
 */
export async function runScript(
  client: ScriptClient,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | Buffer>,
): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args]
  try {
    return await client.sendCommand(['EVALSHA', script.sha, ...tail])
  } catch (error) {
    if (!(error instanceof ErrorReply) || !error.message.startsWith('NOSCRIPT')) throw error
    return client.sendCommand(['EVAL', script.body, ...tail])
  }
}
