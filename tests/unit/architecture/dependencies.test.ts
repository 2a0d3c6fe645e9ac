/**
 * Layer rules of `src/` (DESIGN.md "Architecture"): dependencies point one way, and the
 * consumers of the library (`ai/`, `cli/`) use only its public API. Every module specifier of
 * every `src/**\/*.ts` file is read with the TypeScript parser (static imports and re-exports,
 * type-only ones too, `import()` calls and `import('…')` types), resolved to a file under `src/`,
 * and checked against the rule of the importing file's folder. Each failure lists every
 * violation as `file -> import`.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url))

/** One import of one file; `target` is the `src/`-relative path, or `undefined` for a package. */
interface Edge {
  readonly from: string
  readonly specifier: string
  readonly target: string | undefined
}

/** Which `src/`-relative paths files of a folder may import; packages are always allowed. */
interface LayerRule {
  readonly layer: string
  readonly description: string
  allows(target: string): boolean
}

/** Every module specifier in `text`, in source order. */
function moduleSpecifiers(text: string, fileName = 'file.ts'): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text)
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      if (ts.isStringLiteral(node.moduleReference.expression)) found.push(node.moduleReference.expression.text)
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments
      if (argument !== undefined && ts.isStringLiteralLike(argument)) found.push(argument.text)
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

/** `src/`-relative path (with `/`) of a relative specifier: `./x.js` → `dir/x.ts`. */
function resolveTarget(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined
  const absolute = resolve(dirname(join(SRC, from)), specifier).replace(/\.(m|c)?js$/, '.$1ts')
  return toPosix(relative(SRC, absolute))
}

function toPosix(path: string): string {
  return path.split(sep).join('/')
}

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .map(toPosix)
    .filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))
    .sort()
}

function allEdges(): Edge[] {
  return sourceFiles().flatMap((from) =>
    moduleSpecifiers(readFileSync(join(SRC, from), 'utf8'), from).map((specifier) => ({
      from,
      specifier,
      target: resolveTarget(from, specifier),
    })),
  )
}

const under = (folder: string) => (path: string) => path.startsWith(`${folder}/`)
const isErrors = (path: string) => path === 'errors.ts'
const isIndex = (path: string) => path === 'index.ts'
const inAny = (...folders: string[]) => (path: string) => folders.some((folder) => under(folder)(path))

const RULES: readonly LayerRule[] = [
  {
    layer: 'shared',
    description: 'src/shared imports only src/errors.ts and src/shared',
    allows: (target) => isErrors(target) || inAny('shared')(target),
  },
  {
    layer: 'codecs',
    description: 'src/codecs imports only src/shared, src/errors.ts and src/codecs',
    allows: (target) => isErrors(target) || inAny('shared', 'codecs')(target),
  },
  {
    layer: 'monitoring',
    description: 'src/monitoring imports only src/shared, src/errors.ts and src/monitoring (not src/core, not even for types)',
    allows: (target) => isErrors(target) || inAny('shared', 'monitoring')(target),
  },
  {
    layer: 'options',
    // src/security: the encryption option resolves into a key ring (security/key-ring.ts).
    description: 'src/options imports only src/shared, src/errors.ts, src/monitoring, src/codecs, src/security and src/options (not core, not stores)',
    allows: (target) => isErrors(target) || inAny('shared', 'monitoring', 'codecs', 'security', 'options')(target),
  },
  {
    layer: 'stores',
    description: 'src/stores imports only src/shared, src/errors.ts, src/options and src/stores (not core)',
    allows: (target) => isErrors(target) || inAny('shared', 'options', 'stores')(target),
  },
  {
    layer: 'coherence',
    description: 'src/coherence imports only src/shared, src/errors.ts, src/monitoring, src/options, src/stores and src/coherence (not core)',
    allows: (target) => isErrors(target) || inAny('shared', 'monitoring', 'options', 'stores', 'coherence')(target),
  },
  {
    layer: 'ai',
    // src/errors.ts is public as a whole (every class and the `errors` map are re-exported), and
    // importing it directly avoids a cycle through src/index.ts, which re-exports src/ai.
    description: 'src/ai uses the public API only: src/index.ts, src/errors.ts and src/ai',
    allows: (target) => isIndex(target) || isErrors(target) || inAny('ai')(target),
  },
  {
    layer: 'cli',
    description: 'src/cli uses the public API only: src/index.ts and src/cli',
    allows: (target) => isIndex(target) || inAny('cli')(target),
  },
]

function violations(rule: LayerRule, edges: readonly Edge[]): string[] {
  return edges
    .filter((edge) => under(rule.layer)(edge.from) && edge.target !== undefined && !rule.allows(edge.target))
    .map((edge) => `src/${edge.from} -> '${edge.specifier}' (src/${edge.target ?? ''})`)
}

describe('moduleSpecifiers', () => {
  it('finds every kind of import and re-export, and nothing in comments or strings', () => {
    const text = [
      "import a from './a.js'",
      'import type { B } from "./b.js"',
      "import {\n  c,\n  type D,\n} from '../c.js'",
      "export { e } from './e.js'",
      "export type { F } from './f.js'",
      "export * from './g.js'",
      "export * as h from './h.js'",
      "import './side.js'",
      "const i = await import('./i.js')",
      "type J = import('./j.js').J",
      "import k = require('./k.js')",
      "// import x from './comment.js'",
      `const s = "import y from './string.js'"`,
      "export const local = 1",
    ].join('\n')
    expect(moduleSpecifiers(text)).toEqual(['./a.js', './b.js', '../c.js', './e.js', './f.js', './g.js', './h.js', './side.js', './i.js', './j.js', './k.js'])
  })
})

describe('layer rules of src/', () => {
  const edges = allEdges()

  it('reads the source tree (sanity: the files and imports the rules are about exist)', () => {
    const files = new Set(edges.map((edge) => edge.from))
    for (const layer of RULES.map((rule) => rule.layer)) expect([...files].some(under(layer)), layer).toBe(true)
    expect(edges.some((edge) => edge.target === 'errors.ts')).toBe(true)
  })

  it.each(RULES.map((rule) => [rule.layer, rule] as const))('%s', (_layer, rule) => {
    const found = violations(rule, edges)
    expect(found, `${rule.description}; violations:\n  ${found.join('\n  ')}\n`).toEqual([])
  })
})
