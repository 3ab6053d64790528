// One-off admin entry point of the worker image (an ECS run-task with a command override):
//   node dist/admin-main.js bootstrap            schema, per-role database users, the first admin key
//   node dist/admin-main.js keys create|list|revoke …, labs create|list …, migrate
// The same commands as the `labclimate` CLI (@labclimate/admin), for a database only tasks can reach.
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { bootstrap, databaseCommands, runCommandLine, type Command } from '@labclimate/admin'
import { loadOrExit } from '@labclimate/config'
import { connectDatabase } from '@labclimate/store'
import { loadAdminConfig, loadBootstrapConfig } from './admin-config.ts'

const PROGRAM = 'node dist/admin-main.js'

const bootstrapCommand: Command = {
  name: 'bootstrap',
  summary: 'migrate, create the per-role database users with their grants, and the first admin key if there is no live one (safe to re-run)',
  usage: `${PROGRAM} bootstrap   (ROLE_USERS_AUTH, ROLE_USER_PASSWORD_*, ROLE_USER_PREFIX, ADMIN_KEY_SECRET_ARN from the environment)`,
  run: async (_args, ctx) => {
    const config = loadOrExit(loadBootstrapConfig, process.env)
    const secrets = config.adminKeySecretArn === undefined ? undefined : new SecretsManagerClient({ region: config.region })
    try {
      const report = await bootstrap(ctx.db(), {
        roleAuth: config.roleAuth,
        userPrefix: config.userPrefix,
        userHost: config.userHost,
        now: ctx.now,
        print: ctx.print,
        saveAdminKey: async (key, keyId) => {
          if (secrets === undefined) {
            ctx.print(`admin key ${keyId}: ${key}`)
            ctx.print('Store it now: it is not shown again (set ADMIN_KEY_SECRET_ARN to keep it in Secrets Manager instead).')
            return
          }
          await secrets.send(new PutSecretValueCommand({ SecretId: config.adminKeySecretArn, SecretString: key }))
          // Where it is, never what it is: task output goes to CloudWatch Logs.
          ctx.print(`admin key ${keyId} stored in Secrets Manager: ${config.adminKeySecretArn}`)
          ctx.print(`read it with: aws secretsmanager get-secret-value --secret-id '${config.adminKeySecretArn}' --query SecretString --output text`)
        }
      })
      if (report.adminKeyId === undefined && config.adminKeySecretArn !== undefined) {
        ctx.print(`the first admin key, if still live, is in ${config.adminKeySecretArn}`)
      }
    } finally {
      secrets?.destroy()
    }
  }
}

const COMMANDS: Command[] = [bootstrapCommand, ...databaseCommands(PROGRAM)]

await runCommandLine(COMMANDS, process.argv.slice(2), {
  title: 'labclimate admin tasks (DATABASE_URL, DATABASE_TLS, DATABASE_IAM_AUTH from the environment)',
  program: PROGRAM,
  openDatabase: () => {
    const config = loadOrExit(loadAdminConfig, process.env)
    return connectDatabase({ url: config.databaseUrl, poolSize: 1, ...config.databaseSecurity })
  }
})
