// Top functions by self time in V8 CPU profiles: node bench/profile-top.ts DIR [N]
// (profiles from `node bench/run.ts --profile DIR`, or any --cpu-prof output)
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }
interface Profile { nodes: Node[], samples: number[], timeDeltas: number[] }

const dir = process.argv[2] ?? 'bench/profiles'
const top = Number(process.argv[3] ?? 25)
for (const file of (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    const n = byId.get(id)
    if (n === undefined) return
    const f = n.callFrame
    const file = f.url
      .replace(/^file:\/\/.*?\/node_modules\/\.pnpm\/([^/]+)\/node_modules\//, '$1:')
      .replace(/^file:\/\/.*?\/(apps|packages)\//, '$1/')
    const where = f.url === '' ? '' : ` ${file}:${f.lineNumber + 1}`
    const key = `${f.functionName === '' ? '(anonymous)' : f.functionName}${where}`
    self.set(key, (self.get(key) ?? 0) + dt)
    total += dt
  })
  const idle = (self.get('(idle)') ?? 0)
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((total - idle) / 1e6).toFixed(1)} s busy`)
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1e3).toFixed(0).padStart(8)} ms ${(100 * us / Math.max(1, total - idle)).toFixed(1).padStart(5)}%  ${key}`)
  }
}
