/**
 * Progress bars of long commands (`backup`, `restore`), on stderr through cli-progress. Drawn
 * only when the process's own stderr is a terminal and the output is not `--json`: piped or
 * captured output (tests, CI logs) gets no bar and no control characters.
 */
import cliProgress from 'cli-progress'

import { type CliIo, processIo } from './io.js'

/** A bar to move forward; a no-op when none is drawn. */
export interface ProgressBar {
  update(value: number, payload?: Readonly<Record<string, string | number>>): void
  stop(): void
}

const NONE: ProgressBar = Object.freeze({ update: () => undefined, stop: () => undefined })

/**
 * A bar of `total` steps with `format` (cli-progress tokens: `{bar}`, `{value}`, `{total}`,
 * `{percentage}`, `{eta_formatted}`, plus the payload's), or a no-op when it must not be drawn.
 */
export function progressBar(io: CliIo, json: boolean, format: string, total: number): ProgressBar {
  if (json || io !== processIo || process.stderr.isTTY !== true) return NONE
  const bar = new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 50 }, cliProgress.Presets.shades_classic)
  bar.start(total, 0)
  return { update: (value, payload) => bar.update(value, payload), stop: () => bar.stop() }
}
