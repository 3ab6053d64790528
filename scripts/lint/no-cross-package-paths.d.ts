import type { Rule } from 'eslint'

export declare const noCrossPackagePaths: Rule.RuleModule
