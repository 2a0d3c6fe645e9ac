#!/usr/bin/env node
/**
 * The `strata` command. Each command lives in `commands/<name>.ts` and is registered here; this
 * file only builds the commander program and maps its outcome to an exit code. The process
 * exits through `process.exitCode` at the very bottom, nowhere else.
 */
import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { Command, CommanderError } from 'commander'

import { registerDelCommand } from './commands/del.js'
import { registerBackupCommand } from './commands/backup.js'
import { registerDoctorCommand } from './commands/doctor.js'
import { registerGetCommand } from './commands/get.js'
import { registerInspectCommand } from './commands/inspect.js'
import { registerInvalidateCommand } from './commands/invalidate.js'
import { registerKeysCommand } from './commands/keys.js'
import { registerMigrateCommand } from './commands/migrate.js'
import { registerRekeyCommand } from './commands/rekey.js'
import { registerRestoreCommand } from './commands/restore.js'
import { registerStatsCommand } from './commands/stats.js'
import { registerValidateCommand } from './commands/validate.js'
import { redactSecrets } from './format.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue, processIo } from './io.js'

/** Builds a fresh `strata` program (commander keeps parse state, so one per run). */
export function buildProgram(context: CommandContext): Command {
  const program = new Command('strata')
    .description('Inspect strata-cache data in Redis')
    .version(packageVersion(), '-V, --version', 'print the strata-cache version')
    // Set before commands are added: subcommands inherit them.
    .exitOverride()
    .configureOutput({ writeOut: (text) => context.io.stdout(text), writeErr: (text) => context.io.stderr(text) })
  registerStatsCommand(program, context)
  registerRekeyCommand(program, context)
  registerDoctorCommand(program, context)
  registerBackupCommand(program, context)
  registerRestoreCommand(program, context)
  registerKeysCommand(program, context)
  registerInspectCommand(program, context)
  registerGetCommand(program, context)
  registerDelCommand(program, context)
  registerInvalidateCommand(program, context)
  registerMigrateCommand(program, context)
  registerValidateCommand(program, context)
  return program
}

/**
 * Runs `strata` with `argv` (the arguments after the program name, e.g. `['stats', '--json']`)
 * and resolves its exit code: 0 done, 1 runtime failure (Redis unreachable), 2 usage error.
 * Never calls `process.exit`, so tests can run it in-process with their own `io`.
 */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<ExitCodeValue> {
  let exitCode: ExitCodeValue = ExitCode.ok
  const program = buildProgram({ io, setExitCode: (code) => (exitCode = code) })
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return exitCode
  } catch (error) {
    // Commander has already printed its message (unknown option, missing value) or the help.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    io.stderr(`strata: unexpected error: ${redactSecrets(error instanceof Error ? error.message : String(error))}\n`)
    return ExitCode.failure
  }
}

/** Version from the package's own package.json, two levels up from `src/cli/` or `dist/cli/`. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
    return typeof pkg.version === 'string' ? pkg.version : 'unknown'
  } catch {
    return 'unknown'
  }
}

/** True when this module is the script node was started with (directly, via tsx, or a bin symlink). */
function isEntryPoint(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  process.exitCode = await run(process.argv.slice(2))
}
