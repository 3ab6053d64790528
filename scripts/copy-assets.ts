// A package build's second half: tsc emits only JavaScript, so every other file under src/ (the dashboard's
// .js/.css, JSON, SQL) is copied into dist/ at the same relative path. Run from the package's folder.
import { cpSync, statSync } from 'node:fs'

cpSync('src', 'dist', { recursive: true, filter: (path) => statSync(path).isDirectory() || !path.endsWith('.ts') })
