// One typed configuration per stage, and the only place sizing is set. Production sizing follows the
// measured capacity plan (docs/capacity.md, "Sizing the 23:00 burst"); dev is small on purpose.
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
  /**
   * Raise the floors before the nightly 23:00 upload instead of waiting for target tracking to notice
   * the backlog (UTC; the devices upload at 23:00 UTC).
   */
  burst: { startUtc: { hour: number, minute: number }, endUtc: { hour: number, minute: number }, apiMinTasks: number, workerMinTasks: number } | undefined
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
    /** Fewer than this share of labs with every reading of last night's upload window raises UploadIncomplete. */
    minCompleteUploadRatio: number
    /** Local hour of the fleet by which the nightly burst must have left the queue. */
    queueDrainedByHour: number
    acuUtilizationPercent: number
    /** Freeable memory below this while Aurora runs at its maximum capacity means it needs more. */
    freeableMemoryMiB: number
    deadlocksPerSecond: number
  }
  /** The devices' nightly upload: local hour, and how long after it the maintenance job judges completeness. */
  upload: { hour: number, completenessGraceHours: number }
}

const base = {
  vpcCidr: '10.40.0.0/16',
  queue: { maxReceiveCount: 5, retentionDays: 4, dlqRetentionDays: 14, visibilityTimeoutSeconds: 60, maxMessageSizeBytes: 262_144 },
  archive: { rawDays: 35, minuteDays: 400, hourDays: 3650, glacierAfterDays: 30 },
  upload: { hour: 23, completenessGraceHours: 3 }
} as const

export const STAGES: Record<StageName, Omit<StageConfig, 'availabilityZones'>> = {
  dev: {
    ...base,
    stage: 'dev',
    natGateways: 1,
    database: { minCapacityAcu: 0.5, maxCapacityAcu: 4, readers: 0, backupRetentionDays: 1, deletionProtection: false },
    api: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 2, cpuTargetPercent: 60, requestsPerTargetPerMinute: 600 },
    worker: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 2, consumersPerTask: 2, backlogPerTaskTarget: 100 },
    burst: undefined,
    logRetentionDays: 7,
    alarms: { minLabsReporting: 1, oldestMessageSeconds: 900, api5xxPercent: 5, apiP99Seconds: 2, workerErrorsPer5Min: 5, minCompleteUploadRatio: 0.9, queueDrainedByHour: 3, acuUtilizationPercent: 90, freeableMemoryMiB: 256, deadlocksPerSecond: 1 }
  },
  prod: {
    ...base,
    stage: 'prod',
    natGateways: 2,
    // docs/capacity.md: the burst needs ~32 ACU; a 4 ACU floor keeps the first minutes from queueing
    // behind Aurora's scale-up, 64 leaves 2× headroom.
    database: { minCapacityAcu: 4, maxCapacityAcu: 64, readers: 1, backupRetentionDays: 14, deletionProtection: true },
    api: { cpu: 1024, memoryMiB: 2048, minTasks: 2, maxTasks: 20, cpuTargetPercent: 60, requestsPerTargetPerMinute: 1200 },
    // At most 8 workers of 4 consumers: beyond what the database absorbs, more workers only add lock
    // waits; a backlog target of 1,000 visible messages per task (about 4 M readings) scales out on a
    // real burst without hitting the maximum on every one.
    worker: { cpu: 1024, memoryMiB: 2048, minTasks: 1, maxTasks: 8, consumersPerTask: 4, backlogPerTaskTarget: 1000 },
    burst: { startUtc: { hour: 22, minute: 50 }, endUtc: { hour: 23, minute: 30 }, apiMinTasks: 4, workerMinTasks: 4 },
    logRetentionDays: 90,
    alarms: { minLabsReporting: 1, oldestMessageSeconds: 900, api5xxPercent: 1, apiP99Seconds: 2, workerErrorsPer5Min: 5, minCompleteUploadRatio: 0.99, queueDrainedByHour: 3, acuUtilizationPercent: 90, freeableMemoryMiB: 1024, deadlocksPerSecond: 1 }
  }
}

export function stageConfig (stage: string, availabilityZones: [string, string]): StageConfig {
  if (stage !== 'dev' && stage !== 'prod') throw new Error(`unknown stage "${stage}": use dev or prod`)
  return { ...STAGES[stage], availabilityZones }
}

