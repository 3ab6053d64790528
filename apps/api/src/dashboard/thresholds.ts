/**
 * The one place that says which 24 h averages the dashboard highlights as out of range. The page reads
 * them from /dashboard/config.json and states them above the table.
 */
export const DASHBOARD_THRESHOLDS = {
  temperatureC: { min: 15, max: 30 },
  humidityPct: { min: 20, max: 70 }
} as const
