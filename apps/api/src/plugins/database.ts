import type { DatabaseSecurity } from '@labclimate/config'
import { connectDatabase, findLab, type Database, type Lab } from '@labclimate/store'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'

declare module 'fastify' {
  interface FastifyInstance {
    /** The writer: every write, and every read that must see a write just made (auth, lab checks on ingest). */
    db: Kysely<Database>
    /**
     * The reader (DATABASE_READ_URL, Aurora's reader endpoint), or the writer when there is none: queries that
     * may lag the writer by a moment (averages, series, listings). A miss there that could be a fresh write
     * is confirmed on the writer before it becomes a 404 (see `findLabOnReader`).
     */
    dbRead: Kysely<Database>
  }
}

export interface DatabasePluginOptions {
  url: string
  readUrl?: string
  poolSize: number
  security?: DatabaseSecurity
}

export default fp<DatabasePluginOptions>(async (app, { url, readUrl, poolSize, security }) => {
  const db = connectDatabase({ url, poolSize, ...security })
  const dbRead = readUrl === undefined || readUrl === url ? db : connectDatabase({ url: readUrl, poolSize, ...security })
  app.decorate('db', db)
  app.decorate('dbRead', dbRead)
  app.addHook('onClose', async () => {
    await db.destroy()
    if (dbRead !== db) await dbRead.destroy()
  })
}, { name: 'database' })

/**
 * A lab looked up on the reader; a miss is asked again on the writer, since a lab created a moment ago
 * (POST /labs, then a query at once) may not have reached the reader yet. Unknown ids cost two queries.
 */
export async function findLabOnReader (app: FastifyInstance, labId: number): Promise<Lab | undefined> {
  return await findLab(app.dbRead, labId) ?? (app.dbRead === app.db ? undefined : await findLab(app.db, labId))
}
