/**
 * The report of `strata doctor`: every check of every server, its overall status and exit code,
 * and its text and JSON renderings. Every message and fix is redacted once more on the way out.
 */
import { type PostureCheck, type PostureStatus, worstPostureStatus } from '../../index.js'
import { redactSecrets } from '../format.js'
import type { ExitCodeValue } from '../io.js'

/** One check of one server. */
export interface DoctorCheck extends PostureCheck {
  /** `host:port` of the server checked (each master, on a cluster). */
  readonly node: string
}

/** The JSON document of `strata doctor --json`. */
export interface DoctorReport {
  /** The URL, its password replaced by `***`. */
  readonly target: string
  /** Worst status: `fail`, else `warn`, else `pass` (`skip` counts as `pass`). */
  readonly status: 'pass' | 'warn' | 'fail'
  /** 0 pass, 1 warn, 2 fail. */
  readonly exitCode: ExitCodeValue
  /** How many checks came out each way. */
  readonly counts: Readonly<Record<PostureStatus, number>>
  readonly checks: readonly DoctorCheck[]
}

/**
 * Exit code of a finished review. It shares the CLI's numbers (`ExitCode`): 1 is also "Redis
 * unreachable" and 2 "invalid options", told apart by the report on stdout (only a finished
 * review prints one) and the one-line message on stderr.
 */
const EXIT_FOR: Readonly<Record<DoctorReport['status'], ExitCodeValue>> = { pass: 0, warn: 1, fail: 2 }

/** The report of `checks` on `target` (shown as given: already redacted). */
export function doctorReport(target: string, checks: readonly DoctorCheck[]): DoctorReport {
  const status = worstPostureStatus(checks)
  const counts = { pass: 0, warn: 0, fail: 0, skip: 0 }
  for (const c of checks) counts[c.status]++
  const safe = checks.map((c) => ({ ...c, message: redactSecrets(c.message), ...(c.fix === undefined ? {} : { fix: redactSecrets(c.fix) }) }))
  return { target, status, exitCode: EXIT_FOR[status], counts, checks: safe }
}

export function renderDoctorJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`
}

/** One line per check, `fix:` (or, for a skipped check, `how:`) below anything not passing. */
export function renderDoctorText(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length))
  const lines = [`strata doctor: ${report.target}`]
  let node: string | undefined
  for (const c of report.checks) {
    if (c.node !== node) {
      node = c.node
      lines.push('', `Server ${node}`)
    }
    lines.push(`  ${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(width)}  ${c.message}`)
    if (c.fix !== undefined) lines.push(`        ${' '.repeat(width)}  ${c.status === 'skip' ? 'how' : 'fix'}: ${c.fix}`)
  }
  const { pass, warn, fail, skip } = report.counts
  lines.push('', `Result: ${report.status} (${pass} pass, ${warn} warn, ${fail} fail, ${skip} not checked); exit code ${report.exitCode}`)
  return `${lines.join('\n')}\n`
}
