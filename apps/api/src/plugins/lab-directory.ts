import { findExistingLabIds, listLabIds } from '@labclimate/store'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Database } from '@labclimate/store'

/**
 * Which lab ids exist, loaded at start. Labs are never deleted, so a known id is remembered for good (and through
 * a database outage); an unknown one is looked up each time, since another API task may have just created it.
 */
export class LabDirectory {
  readonly #db: Kysely<Database>
  readonly #known = new Set<number>()
  constructor (db: Kysely<Database>) { this.#db = db }

  remember (id: number): void { this.#known.add(id) }

  async existing (ids: Iterable<number>): Promise<Set<number>> {
    const found = new Set<number>()
    const unknown: number[] = []
    for (const id of ids) {
      if (this.#known.has(id)) found.add(id)
      else unknown.push(id)
    }
    if (unknown.length > 0) {
      for (const id of await findExistingLabIds(this.#db, unknown)) {
        this.#known.add(id)
        found.add(id)
      }
    }
    return found
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    labDirectory: LabDirectory
  }
}

export default fp(async (app) => {
  const directory = new LabDirectory(app.db)
  try {
    const ids = await listLabIds(app.dbRead)
    for (const id of ids) directory.remember(id)
    app.log.info({ labs: ids.length }, 'lab directory warmed')
  } catch (error) {
    app.log.warn({ err: error }, 'lab directory not warmed: the database did not answer')
  }
  app.decorate('labDirectory', directory)
}, { name: 'lab-directory', dependencies: ['database'] })
