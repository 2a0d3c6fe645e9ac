/**
 * `npm run build`: compiles `src/` twice, in parallel, into a clean output directory.
 *
 * - `<out>/`: ESM and `.d.ts` (tsconfig.build.json), for `import` and for the `strata` CLI.
 * - `<out>/cjs/`: CommonJS and `.d.ts` (tsconfig.cjs.json), for `require`, marked as CommonJS
 *   by `<out>/cjs/package.json` (the package itself is `"type": "module"`). No CLI: it is ESM only.
 * - `<out>/typescript-5.4-required.d.ts` and `<out>/cjs/typescript-5.4-required.d.ts`: what
 *   TypeScript < 5.4 reads instead of the real types (package.json `types@<5.4` export
 *   conditions and `typesVersions`), since those use `NoInfer`.
 *
 * Usage: `tsx scripts/build.ts [--out-dir <dir>] [--no-check]`. The default directory is
 * `dist`; the packaging test builds into a temporary one, with `--no-check`: type errors are
 * then not reported (`npm run typecheck` does that), and the output is the same.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc')

const TS_VERSION_STUB = `// strata-cache's type declarations need TypeScript 5.4 or later: they use NoInfer.
// package.json (its "types@<5.4" export conditions and "typesVersions") sends older compilers
// to this file, so an import from strata-cache fails with "has no exported member" instead of
// silently losing type inference. Upgrade TypeScript to 5.4 or later.
export type StrataCacheRequiresTypeScript = '>=5.4'
`

/** Builds into `outDir` (relative to the project root), after emptying it. */
export async function build(outDir: string, { check = true }: { check?: boolean } = {}): Promise<void> {
  const out = resolve(ROOT, outDir)
  // Never empty the project itself or a folder that contains it.
  const back = relative(out, ROOT)
  if (back === '' || !(back.startsWith('..') || isAbsolute(back))) throw new Error(`refusing to build into ${out}: it holds the project`)
  rmSync(out, { recursive: true, force: true })
  const esmFlags = check ? [] : ['--noCheck']
  await Promise.all([tsc('tsconfig.build.json', out, esmFlags), tsc('tsconfig.cjs.json', join(out, 'cjs'))])
  mkdirSync(join(out, 'cjs'), { recursive: true })
  writeFileSync(join(out, 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`)
  for (const dir of [out, join(out, 'cjs')]) writeFileSync(join(dir, 'typescript-5.4-required.d.ts'), TS_VERSION_STUB)
}

function tsc(project: string, outDir: string, flags: readonly string[] = []): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [TSC, '-p', join(ROOT, project), '--outDir', outDir, ...flags], { cwd: ROOT, stdio: 'inherit' })
    child.on('error', fail)
    child.on('exit', (code, signal) => {
      if (code === 0) done()
      else fail(new Error(`tsc -p ${project} failed (${signal ?? `exit code ${String(code)}`})`))
    })
  })
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: 'dist' }, 'no-check': { type: 'boolean', default: false } } })
  try {
    await build(values['out-dir'], { check: !values['no-check'] })
  } catch (error) {
    process.stderr.write(`build: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  }
}
