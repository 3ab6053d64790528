// Applies `publishConfig` (exports -> dist/*.js) to the deployed app and to every @labclimate package
// injected into its node_modules, then checks that no TypeScript is left to load at run time.
// pnpm deploy hard-links package.json to the workspace's own file, so each one is replaced, never
// edited in place.
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const out = process.argv[2]
if (out === undefined) throw new Error('usage: node infra/docker/prepare-deploy.ts OUT_DIR')

function publish (dir: string): void {
  const file = join(dir, 'package.json')
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  const publishConfig = manifest.publishConfig as Record<string, unknown> | undefined
  if (publishConfig === undefined) {
    throw new Error(`${file}: no publishConfig. Every workspace package the apps depend on needs "files": ["dist"], ` +
      '"publishConfig": { "exports": { ".": "./dist/index.js" } } and the "build" script, as packages/contract has (docs/deploy.md, "Images").')
  }
  const { publishConfig: _, scripts, ...rest } = manifest
  const next: Record<string, unknown> = { ...rest, ...publishConfig }
  // Keep only the production entry points (`*:prod`) as scripts.
  const prodScripts = Object.fromEntries(Object.entries((scripts ?? {}) as Record<string, string>).filter(([name]) => name.endsWith(':prod')))
  if (Object.keys(prodScripts).length > 0) next.scripts = prodScripts
  writeFileSync(`${file}.tmp`, JSON.stringify(next, null, 2) + '\n')
  renameSync(`${file}.tmp`, file)
  const exportsField = next.exports as Record<string, string>
  for (const target of Object.values(exportsField)) {
    if (!existsSync(join(dir, target))) throw new Error(`${file}: exports ${target} is missing (did the build run?)`)
  }
}

publish(out)
const store = join(out, 'node_modules', '.pnpm')
for (const entry of readdirSync(store)) {
  if (!entry.startsWith('@labclimate+')) continue
  // "@labclimate+queue@file+..." holds @labclimate/queue itself (its siblings there are symlinks)
  const name = entry.slice('@labclimate+'.length).split('@')[0] ?? ''
  publish(join(store, entry, 'node_modules', '@labclimate', name))
}

// The image's app layer holds only what runs: files Node never loads from node_modules (type declarations,
// TypeScript sources, source maps, Markdown) are removed. Unlinked, never edited: they may be hard links
// into pnpm's store.
const NOT_RUN = /\.(d\.[mc]?ts|[mc]?ts|map|md|markdown)$/i
let pruned = 0
function prune (dir: string): void {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, d.name)
    if (d.isDirectory()) prune(path)
    else if (d.isFile() && NOT_RUN.test(d.name)) { pruned += lstatSync(path).size; unlinkSync(path) }
  }
}
prune(join(out, 'node_modules'))

// Nothing that Node would refuse to load: no .ts outside type declarations.
function walk (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name)
    if (d.isDirectory()) return walk(path)
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') && !d.name.endsWith('.d.mts') && !d.name.endsWith('.d.cts') ? [path] : []
  })
}
const leftovers = [...walk(join(out, 'dist')), ...walk(store).filter((p) => p.includes('@labclimate+'))]
if (leftovers.length > 0) throw new Error(`TypeScript left in the deploy folder:\n${leftovers.join('\n')}`)
console.log(`prepare-deploy: ${out} ready (${(pruned / 1e6).toFixed(1)} MB of declarations, sources, maps and Markdown left out)`)
