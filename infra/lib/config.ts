// One typed configuration per stage, and the only place sizing is set. Production sizing follows the
// measured capacity plan (docs/capacity.md, "Sizing the 23:00 burst"); dev is small on purpose.
import { DEFAULT_RETENTION, type RetentionPolicy } from '@labclimate/config'

export type StageName = 'dev' | 'prod'

export interface StageConfig {
  stage: StageName
  /** Two AZs, pinned so `cdk synth` needs no AWS lookup. */
  availabilityZones: [string, string]
  vpcCidr: string
  natGateways: number
  database: {
    /** Floor outside the burst window; 0 lets the cluster pause (dev only: a paused cluster takes ~15 s to resume). */
    minCapacityAcu: number
    maxCapacityAcu: number
    /** With minCapacityAcu 0: pause after this many idle minutes. */
    autoPauseMinutes?: number
    /**
     * Floor raised only around the burst (burst.start - 10 min .. burst.end), by a schedule that changes the
     * cluster's scaling configuration; undefined keeps the floor flat.
     */
    burstMinCapacityAcu?: number
    /** A reader in the second AZ (failover target and GET /labs); none in dev. */
    readers: number
    /**
     * Whether the reader is kept at the writer's size (promotion tier 0-1). Off: the reader scales on its own
     * reads, so it does not double the always-on cost; a failover then lands on a smaller instance that
     * scales up within seconds (docs/capacity.md).
     */
    readerScalesWithWriter: boolean
    backupRetentionDays: number
    deletionProtection: boolean
  }
  api: { cpu: number, memoryMiB: number, minTasks: number, maxTasks: number, cpuTargetPercent: number, requestsPerTargetPerMinute: number }
  worker: { cpu: number, memoryMiB: number, minTasks: number, maxTasks: number, consumersPerTask: number, backlogPerTaskTarget: number }
  /**
   * The fleet's time zone (IANA name, e.g. Europe/Berlin): the devices upload at 23:00 local time, so the
   * burst floors follow daylight saving time with it.
   */
  burstTimeZone: string
  /**
   * Raise the floors before the nightly 23:00 upload instead of waiting for target tracking to notice
   * the backlog; times are in burstTimeZone.
   */
  burst: { start: { hour: number, minute: number }, end: { hour: number, minute: number }, apiMinTasks: number, workerMinTasks: number } | undefined
  /** AWS WAF on the ALB: requests per client address per 5 minutes before it is blocked. */
  waf: { requestsPerAddressPer5Min: number }
  queue: { maxReceiveCount: number, retentionDays: number, dlqRetentionDays: number, visibilityTimeoutSeconds: number, maxMessageSizeBytes: number }
  logRetentionDays: 7 | 14 | 30 | 90 | 365
  /** Days each resolution is kept (the apps' defaults unless a stage says otherwise), and when archives go to Glacier. */
  archive: RetentionPolicy & { glacierAfterDays: number }
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
  archive: { ...DEFAULT_RETENTION, glacierAfterDays: 30 },
  upload: { hour: 23, completenessGraceHours: 3 },
  burstTimeZone: 'UTC',
  // A site with many labs behind one NAT address uploads them all around 23:00 (one request per lab), and
  // a Postman user sends a few; 3,000 per 5 minutes per address leaves room for ~3,000 labs behind one
  // address while one client cannot take a task's worth of traffic.
  waf: { requestsPerAddressPer5Min: 3000 }
} as const

export const STAGES: Record<StageName, Omit<StageConfig, 'availabilityZones'>> = {
  dev: {
    ...base,
    stage: 'dev',
    natGateways: 1,
    // 0 ACU: the idle dev cluster pauses (Aurora MySQL 3.08+) and costs only storage.
    database: {
      minCapacityAcu: 0,
      autoPauseMinutes: 10,
      maxCapacityAcu: 4,
      readers: 0,
      readerScalesWithWriter: false,
      backupRetentionDays: 1,
      deletionProtection: false
    },
    api: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 2, cpuTargetPercent: 60, requestsPerTargetPerMinute: 600 },
    worker: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 2, consumersPerTask: 2, backlogPerTaskTarget: 100 },
    burst: undefined,
    logRetentionDays: 7,
    alarms: {
      minLabsReporting: 1,
      oldestMessageSeconds: 900,
      api5xxPercent: 5,
      apiP99Seconds: 2,
      workerErrorsPer5Min: 5,
      minCompleteUploadRatio: 0.9,
      queueDrainedByHour: 3,
      acuUtilizationPercent: 90,
      freeableMemoryMiB: 256,
      deadlocksPerSecond: 1
    }
  },
  prod: {
    ...base,
    stage: 'prod',
    natGateways: 2,
    // docs/capacity.md: the burst needs ~32 ACU; a 4 ACU floor from 22:40 to 23:30 keeps the first minutes
    // from queueing behind Aurora's scale-up, 64 leaves 2× headroom; 0.5 ACU the rest of the day.
    database: {
      minCapacityAcu: 0.5,
      burstMinCapacityAcu: 4,
      maxCapacityAcu: 64,
      readers: 1,
      readerScalesWithWriter: false,
      backupRetentionDays: 14,
      deletionProtection: true
    },
    // Request-count scaling is sized for live posting, not day batches (docs/capacity.md, "Night burst rehearsal"):
    // the whole fleet posting every 30 s is ~92,000 requests a minute, ~0.4 vCPU at 3,795 requests per CPU-second,
    // so 60,000 a minute per task keeps it at the 2-task floor; 1,200 pinned it at the maximum all day.
    api: { cpu: 1024, memoryMiB: 2048, minTasks: 2, maxTasks: 20, cpuTargetPercent: 60, requestsPerTargetPerMinute: 60_000 },
    // At most 8 workers of 4 consumers: beyond what the database absorbs, more workers only add lock
    // waits; a backlog target of 1,000 visible messages per task (about 4 M readings) scales out on a
    // real burst without hitting the maximum on every one.
    worker: { cpu: 1024, memoryMiB: 2048, minTasks: 1, maxTasks: 8, consumersPerTask: 4, backlogPerTaskTarget: 1000 },
    burst: { start: { hour: 22, minute: 50 }, end: { hour: 23, minute: 30 }, apiMinTasks: 4, workerMinTasks: 4 },
    logRetentionDays: 90,
    alarms: {
      minLabsReporting: 1,
      oldestMessageSeconds: 900,
      api5xxPercent: 1,
      apiP99Seconds: 2,
      workerErrorsPer5Min: 5,
      minCompleteUploadRatio: 0.99,
      queueDrainedByHour: 3,
      acuUtilizationPercent: 90,
      freeableMemoryMiB: 1024,
      deadlocksPerSecond: 1
    }
  }
}

function isTimeZone (name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name })
    return true
  } catch {
    return false
  }
}

export function stageConfig (stage: string, availabilityZones: [string, string], overrides: { burstTimeZone?: string | undefined } = {}): StageConfig {
  if (stage !== 'dev' && stage !== 'prod') throw new Error(`unknown stage "${stage}": use dev or prod`)
  const burstTimeZone = overrides.burstTimeZone ?? STAGES[stage].burstTimeZone
  // The name goes to Application Auto Scaling and EventBridge Scheduler, which take IANA names.
  // (Intl accepts every IANA name and alias, and refuses anything else.)
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(burstTimeZone) || !isTimeZone(burstTimeZone)) {
    throw new Error(`burstTimeZone "${burstTimeZone}" is not an IANA time zone (e.g. Europe/Berlin)`)
  }
  return { ...STAGES[stage], availabilityZones, burstTimeZone }
}
