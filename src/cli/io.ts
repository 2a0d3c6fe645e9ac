/** Where the CLI writes and what it reads from its environment; injected so tests run in-process. */
export interface CliIo {
  /** Writes report output (the table or the JSON document). */
  stdout(text: string): void
  /** Writes errors and diagnostics. */
  stderr(text: string): void
  /** Environment variables, read for `REDIS_URL`. @default process.env */
  env?: Readonly<Record<string, string | undefined>>
}

/** Process exit codes of `strata`. */
export const ExitCode = Object.freeze({
  /** The command did what was asked. */
  ok: 0,
  /** Redis was unreachable, refused a command or did not answer within `--timeout`. */
  failure: 1,
  /** Bad arguments or options: nothing was attempted. */
  usage: 2,
})

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * A runtime failure the CLI reports as one clear line and exit code 1 (never a stack trace):
 * Redis unreachable, a command refused, a deadline missed. The message must not contain secrets.
 */
export class CliFailure extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'CliFailure'
  }
}

/** The process's own streams and environment, for the `strata` binary. */
export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
}

/** What `main` hands every command module when it registers the command. */
export interface CommandContext {
  /** Output and environment of this run. */
  readonly io: CliIo
  /** Records the exit code of the command's action (commander actions cannot return one). */
  setExitCode(code: ExitCodeValue): void
}
