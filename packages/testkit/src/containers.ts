// Containers without a Docker engine, for the images test and the MySQL leg of `pnpm test`: Debian's podman
// (runc runtime, the repo's own containers.conf) and stand-in images built from Debian's packages with
// mmdebstrap, since no image registry is reachable. Each stand-in is tagged with a hash of its recipe and
// kept in podman's store, so only the first run on a machine builds it.
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { REPO_ROOT } from './processes.ts'

/** podman reads this file instead of /etc/containers/containers.conf: runc, and ulimits the host allows. */
export const CONTAINERS_CONF = fileURLToPath(new URL('../containers.conf', import.meta.url))
const CACHE = join(REPO_ROOT, '.cache/containers')
/** The CA bundle of the machine: npm in the images reaches the registry through a TLS proxy signed by it. */
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'
/** npm for the stand-in Node image, from its registry tarball (the official node image ships npm too). */
const NPM_VERSION = '11.21.2'

const podmanEnv = (): NodeJS.ProcessEnv => ({ ...process.env, CONTAINERS_CONF })

function has (command: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`], { stdio: 'ignore' }); return true } catch { return false }
}

/**
 * Installs podman, runc and mmdebstrap from Debian's packages when they are missing and this process may
 * (root or passwordless sudo), then checks that podman runs. Undefined when it does; otherwise why not.
 */
export function containerSupport (log: (line: string) => void = () => {}): string | undefined {
  if (!['podman', 'runc', 'mmdebstrap'].every(has)) {
    const maySudo = (): boolean => { try { execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' }); return true } catch { return false } }
    const mayInstall = process.getuid?.() === 0 || maySudo()
    if (!mayInstall) return 'podman, runc or mmdebstrap is missing and there is no root to install them (sudo sh scripts/install-containers.sh)'
    log('installing podman, runc and mmdebstrap (scripts/install-containers.sh)')
    try { execFileSync('sh', [join(REPO_ROOT, 'scripts/install-containers.sh')], { stdio: ['ignore', 'ignore', 'pipe'] }) } catch (error) {
      return `installing podman, runc and mmdebstrap failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim().slice(-500)}`
    }
  }
  if (process.getuid?.() !== 0) return 'podman runs here only as root (rootless podman needs subordinate ids this setup does not configure)'
  try { execFileSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], { env: podmanEnv(), stdio: 'ignore' }) } catch (error) {
    return `podman does not run here: ${String(error).slice(0, 300)}`
  }
  return undefined
}

/** Runs podman with the repo's containers.conf; resolves with stdout, rejects with the tail of stderr. */
export async function podman (args: string[], { timeoutMs = 600_000 } = {}): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile('podman', args, { env: podmanEnv(), maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) { resolve(stdout); return }
      reject(new Error(`podman ${args.slice(0, 3).join(' ')} … failed: ${(stderr + stdout).trim().split('\n').slice(-20).join('\n')}`, { cause: error }))
    })
  })
}

async function run (command: string, args: string[], timeoutMs = 900_000): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, encoding: 'utf8', cwd: REPO_ROOT }, (error, stdout, stderr) => {
      if (error === null) { resolve(stdout); return }
      reject(new Error(`${command} ${args.join(' ').slice(0, 200)} failed: ${stderr.trim().split('\n').slice(-15).join('\n')}`, { cause: error }))
    })
  })
}

export async function imageExists (tag: string): Promise<boolean> {
  return await podman(['image', 'exists', tag]).then(() => true, () => false)
}

/** Size of an image in bytes, as podman reports it (all layers, uncompressed). */
export async function imageSize (tag: string): Promise<number> {
  return Number((await podman(['image', 'inspect', '--format', '{{.Size}}', tag])).trim())
}

/** Bumped when debianImage itself changes what it builds. */
const RECIPE_VERSION = 1
const recipeTag = (name: string, recipe: unknown): string =>
  `localhost/labclimate/${name}:${createHash('sha256').update(JSON.stringify({ RECIPE_VERSION, recipe })).digest('hex').slice(0, 12)}`

/**
 * Debian packages → a root file system (mmdebstrap) → a podman image, tagged by a hash of everything that
 * goes into it; built only when that tag is not in podman's store yet.
 */
async function debianImage (
  name: string,
  recipe: { suite: string, include: string[], hooks: string[], changes: string[], inputs?: string[] },
  log: (line: string) => void
): Promise<string> {
  const tag = recipeTag(name, recipe)
  if (await imageExists(tag)) return tag
  const started = Date.now()
  mkdirSync(CACHE, { recursive: true })
  const work = mkdtempSync(join(tmpdir(), `labclimate-${name}-`))
  try {
    const rootfs = join(work, 'rootfs.tar')
    await run('mmdebstrap', [
      '--variant=minbase', '--quiet',
      // The package mirror is reached through a caching proxy whose Release files may be past their date.
      '--aptopt=Acquire::Check-Valid-Until "false"',
      ...(recipe.include.length > 0 ? [`--include=${recipe.include.join(',')}`] : []),
      ...recipe.hooks.map((hook) => `--customize-hook=${hook}`),
      // No apt lists or package cache in the image.
      '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin',
      recipe.suite, rootfs
    ])
    await podman(['import', ...recipe.changes.flatMap((change) => ['--change', change]), rootfs, tag])
    log(`built the stand-in image ${tag} in ${Math.round((Date.now() - started) / 1000)} s`)
    return tag
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** The npm registry tarball of npm, fetched once into .cache/containers by the machine's npm. */
async function npmTarball (): Promise<string> {
  const file = join(CACHE, `npm-${NPM_VERSION}.tgz`)
  if (existsSync(file)) return file
  mkdirSync(CACHE, { recursive: true })
  await run('npm', ['pack', `npm@${NPM_VERSION}`, '--pack-destination', CACHE, '--silent'])
  if (!existsSync(file)) throw new Error(`npm pack did not leave ${file}`)
  return file
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')

/**
 * A stand-in for the official `node:24.x-*-slim` image: Debian bookworm minbase, the Node binary of the npm
 * `node` package the repo pins (root devDependency, in node_modules), npm in /usr/local like the official
 * image, a `node` user (uid 1000) and the machine's CA bundle with NODE_EXTRA_CA_CERTS.
 */
export async function standInNodeImage (log: (line: string) => void = () => {}): Promise<string> {
  const nodeBinary = join(REPO_ROOT, 'node_modules/node/bin/node')
  const nodeVersion = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/node/package.json'), 'utf8')) as { version: string }).version
  const npm = await npmTarball()
  const npmDir = '/usr/local/lib/node_modules/npm'
  return await debianImage('node-standin', {
    suite: 'bookworm',
    include: [],
    inputs: [`node ${nodeVersion}`, `npm ${NPM_VERSION}`, `ca ${sha256(CA_BUNDLE)}`],
    hooks: [
      `mkdir -p "$1"/usr/local/bin "$1"${npmDir} "$1"/etc/ssl/certs "$1"/home/node`,
      `cp ${nodeBinary} "$1"/usr/local/bin/node`,
      `tar -xzf ${npm} -C "$1"${npmDir} --strip-components=1 --no-same-owner`,
      'ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1"/usr/local/bin/npm',
      'ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1"/usr/local/bin/npx',
      `cp ${CA_BUNDLE} "$1"/etc/ssl/certs/ca-certificates.crt`,
      // The official image's user: node, uid and gid 1000, home /home/node.
      'echo "node:x:1000:1000::/home/node:/bin/sh" >> "$1"/etc/passwd',
      'echo "node:x:1000:" >> "$1"/etc/group',
      'echo "node:*:20000:0:99999:7:::" >> "$1"/etc/shadow',
      'chown 1000:1000 "$1"/home/node',
      `test "$("$1"/usr/local/bin/node --version)" = "v${nodeVersion}"`
    ],
    changes: [
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `ENV NODE_VERSION=${nodeVersion}`,
      `ENV NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`,
      'CMD ["node"]'
    ]
  }, log)
}

/** Real MySQL from Debian's unstable suite (Debian 12 has none), for the MySQL leg of the suite. */
export async function mysqlImage (log: (line: string) => void = () => {}): Promise<string> {
  return await debianImage('mysql-standin', {
    suite: 'sid',
    include: ['mysql-server-core', 'mysql-client-core'],
    hooks: [],
    changes: []
  }, log)
}
