// Start the real apps as child processes, the way `pnpm start` does, and stop them with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The workspace root (the folder with pnpm-workspace.yaml), with a trailing slash as before. */
export const REPO_ROOT = workspaceRoot(dirname(fileURLToPath(import.meta.url)))

function workspaceRoot (from: string): string {
  if (existsSync(join(from, 'pnpm-workspace.yaml'))) return `${from}/`
  const parent = dirname(from)
  if (parent === from) throw new Error('no pnpm-workspace.yaml above the testkit')
  return workspaceRoot(parent)
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

export interface AppProcess {
  child: ChildProcess
  output: () => string
  /** SIGTERM, then the exit code (or the signal that ended it). */
  stop: () => Promise<number | string | null>
}

export function startApp (entry: string, env: Record<string, string>): AppProcess {
  const child = spawn(process.execPath, [entry], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return await exited
    }
  }
}
