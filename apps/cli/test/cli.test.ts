import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import t from 'tap'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { REPO_ROOT } from '@labclimate/testkit/processes'

const cli = (args: string[], databaseUrl?: string): { status: number | null, out: string } => {
  const r = spawnSync(process.execPath, ['apps/cli/src/main.ts', ...args], {
    cwd: REPO_ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }) }
  })
  return { status: r.status, out: r.stdout + r.stderr }
}

t.test('--help on the tool and on every command', async (t) => {
  const top = cli(['--help'])
  t.equal(top.status, 0)
  for (const c of ['start', 'migrate', 'labs create', 'labs list', 'keys create', 'keys list', 'keys revoke']) {
    t.match(top.out, c)
    const one = cli([...c.split(' '), '--help'])
    t.equal(one.status, 0, `${c} --help`)
    t.match(one.out, `usage: labclimate ${c}`)
  }
  t.equal(cli(['frobnicate']).status, 2, 'an unknown command is a usage error')
  t.match(cli(['migrate']).out, /DATABASE_URL is required/)
})

t.test('labs and keys: create, list, revoke against a real database', async (t) => {
  const { url, db } = await createTestDatabase(t, { migrate: false })
  t.match(cli(['migrate'], url).out, /applied: .*initial_schema/)
  t.match(cli(['labs', 'create', '--name', 'Cold room', '--address', 'B2', '--id', '42'], url).out, 'lab 42 created: Cold room')
  t.match(cli(['labs', 'list'], url).out, /42\tCold room\tB2/)

  const made = cli(['keys', 'create', '--role', 'device', '--lab', '42', '--label', 'sensor 42'], url)
  t.equal(made.status, 0)
  const key = /: (lc_\S+)/.exec(made.out)?.[1] ?? ''
  t.match(key, /^lc_[A-Za-z0-9_-]{43}$/)
  const row = await db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow()
  t.same([row.role, row.lab_id, row.key_hash], ['device', 42, createHash('sha256').update(key).digest('hex')])

  const list = cli(['keys', 'list'], url)
  t.notMatch(list.out, key, 'the list never prints a key')
  t.match(list.out, /\tdevice\t42\tsensor 42\tlive/)
  t.equal(cli(['keys', 'revoke', String(row.id)], url).status, 0)
  t.match(cli(['keys', 'list'], url).out, /\tdevice\t42\tsensor 42\trevoked /)
  t.equal(cli(['keys', 'revoke', String(row.id)], url).status, 2, 'revoking twice is refused')
  t.equal(cli(['keys', 'create', '--role', 'device', '--label', 'x'], url).status, 2, 'a device key needs a lab')
  t.equal(cli(['keys', 'create', '--role', 'root', '--label', 'x'], url).status, 2)
})
