export * from './commands.ts'
export * from './roles.ts'
export * from './bootstrap.ts'
