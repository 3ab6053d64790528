// The lint rule behind issue 16's boundary check; eslint.config.js turns it on and test/lint-boundaries.test.ts tries it.
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

// The workspace packages are apps/*, packages/*, infra and the root package (test/, bench/, scripts/); each is
// the nearest folder upwards with a package.json. A relative path that lands in another one is a hidden
// dependency: import the package by name (add it to dependencies) or move the code.
const packageRoots = new Map()
function packageRootOf (dir) {
  if (!packageRoots.has(dir)) {
    const parent = dirname(dir)
    packageRoots.set(dir, existsSync(join(dir, 'package.json')) || parent === dir ? dir : packageRootOf(parent))
  }
  return packageRoots.get(dir)
}

export const noCrossPackagePaths = {
  meta: {
    type: 'problem',
    docs: { description: 'a relative import or `new URL(relative, import.meta.url)` must stay inside its workspace package' },
    schema: [],
    messages: { crossing: '"{{path}}" leaves this workspace package ({{from}}) for {{to}}: depend on that package by name instead.' }
  },
  create (context) {
    const here = dirname(context.filename)
    const from = packageRootOf(here)
    function check (node) {
      if (node?.type !== 'Literal' || typeof node.value !== 'string' || !node.value.startsWith('.')) return
      const target = resolve(here, node.value)
      const to = packageRootOf(existsSync(join(target, 'package.json')) ? target : dirname(target))
      if (to !== from) {
        const cwd = context.cwd
        context.report({ node, messageId: 'crossing', data: { path: node.value, from: from.replace(cwd, '.') || '.', to: to.replace(cwd, '.') || '.' } })
      }
    }
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      // new URL('../../x', import.meta.url): a path escape as real as an import (e.g. spawning another package's script).
      NewExpression (node) {
        const [path, base] = node.arguments
        if (node.callee.type === 'Identifier' && node.callee.name === 'URL' && base?.type === 'MemberExpression' &&
          base.object.type === 'MetaProperty' && base.property.type === 'Identifier' && base.property.name === 'url') check(path)
      }
    }
  }
}
