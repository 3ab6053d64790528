import { connectDatabase, type Database } from '@labclimate/store'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}

export interface DatabasePluginOptions {
  url: string
  poolSize: number
}

export default fp<DatabasePluginOptions>(async (app, { url, poolSize }) => {
  const db = connectDatabase({ url, poolSize })
  app.decorate('db', db)
  app.addHook('onClose', async () => { await db.destroy() })
}, { name: 'database' })
