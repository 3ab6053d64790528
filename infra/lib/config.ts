// One typed configuration per stage. Sizing values are initial, defensible guesses: they await the
// measured capacity plan (see docs/operations.md, "Capacity"), and are changed here and nowhere else.
export type StageName = 'dev' | 'prod'

export interface StageConfig {
  stage: StageName
  /** Two AZs, pinned so `cdk synth` needs no AWS lookup. */
  availabilityZones: [string, string]
  vpcCidr: string
  natGateways: number
  database: {
    minCapacityAcu: number
    maxCapacityAcu: number
    /** A reader in the second AZ (failover target); none in dev. */
    readers: number
    backupRetentionDays: number
    deletionProtection: boolean
  }
  api: { cpu: number, memoryMiB: number, minTasks: number, maxTasks: number, cpuTargetPercent: number, requestsPerTargetPerMinute: number }
  worker: { cpu: number, memoryMiB: number, minTasks: number, maxTasks: number, consumersPerTask: number, backlogPerTaskTarget: number }
  queue: { maxReceiveCount: number, retentionDays: number, dlqRetentionDays: number, visibilityTimeoutSeconds: number, maxMessageSizeBytes: number }
  logRetentionDays: 7 | 14 | 30 | 90 | 365
  archive: { rawDays: number, minuteDays: number, hourDays: number, glacierAfterDays: number }
  alarms: {
    /** Labs expected to have uploaded within 24 h; fewer pages someone. */
    minLabsReporting: number
    oldestMessageSeconds: number
    api5xxPercent: number
    apiP99Seconds: number
    workerErrorsPer5Min: number
  }
}

const base = {
  vpcCidr: '10.40.0.0/16',
  queue: { maxReceiveCount: 5, retentionDays: 4, dlqRetentionDays: 14, visibilityTimeoutSeconds: 60, maxMessageSizeBytes: 262_144 },
  archive: { rawDays: 35, minuteDays: 400, hourDays: 3650, glacierAfterDays: 30 }
} as const

export const STAGES: Record<StageName, Omit<StageConfig, 'availabilityZones'>> = {
  dev: {
    ...base,
    stage: 'dev',
    natGateways: 1,
    database: { minCapacityAcu: 0.5, maxCapacityAcu: 4, readers: 0, backupRetentionDays: 1, deletionProtection: false },
    api: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 2, cpuTargetPercent: 60, requestsPerTargetPerMinute: 600 },
    worker: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 2, consumersPerTask: 2, backlogPerTaskTarget: 100 },
    logRetentionDays: 7,
    alarms: { minLabsReporting: 1, oldestMessageSeconds: 900, api5xxPercent: 5, apiP99Seconds: 2, workerErrorsPer5Min: 5 }
  },
  prod: {
    ...base,
    stage: 'prod',
    natGateways: 2,
    database: { minCapacityAcu: 0.5, maxCapacityAcu: 64, readers: 1, backupRetentionDays: 14, deletionProtection: true },
    api: { cpu: 1024, memoryMiB: 2048, minTasks: 2, maxTasks: 20, cpuTargetPercent: 60, requestsPerTargetPerMinute: 1200 },
    worker: { cpu: 1024, memoryMiB: 2048, minTasks: 1, maxTasks: 30, consumersPerTask: 4, backlogPerTaskTarget: 100 },
    logRetentionDays: 90,
    alarms: { minLabsReporting: 1, oldestMessageSeconds: 900, api5xxPercent: 1, apiP99Seconds: 2, workerErrorsPer5Min: 5 }
  }
}

export function stageConfig (stage: string, availabilityZones: [string, string]): StageConfig {
  if (stage !== 'dev' && stage !== 'prod') throw new Error(`unknown stage "${stage}": use dev or prod`)
  return { ...STAGES[stage], availabilityZones }
}

/** The business metrics the apps emit as CloudWatch Embedded Metric Format (see docs/operations.md). */
export const METRICS_NAMESPACE = 'Labclimate'
