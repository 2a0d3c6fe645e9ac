import type { CliIo } from '../../src/cli/io.js'

/** CLI writers that capture output; `env` is empty so no developer's REDIS_URL leaks into a test. */
export function captureIo(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env: {},
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
  }
  return io
}
