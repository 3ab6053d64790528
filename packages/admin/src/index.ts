// The package's surface: what the CLI, the worker image's admin entry point, infra and the tests use.
export { databaseCommands, runCommandLine, UsageError, type Command, type CommandContext } from './commands.ts'
export { ROLE_NAMES, roleUserName, type RoleName } from './roles.ts'
export { bootstrap, type BootstrapOptions, type BootstrapReport, type RoleAuth } from './bootstrap.ts'
