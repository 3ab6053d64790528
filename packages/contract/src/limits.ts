/**
 * The validation rules every reading must pass. API and worker share these so that
 * nothing the API accepted can be refused later, and nothing the worker stores
 * could have been refused by the API.
 */

/**
 * Lab rooms range from walk-in freezers (about -40 °C) to warm rooms and
 * incubator rooms (up to about 45 °C). Values outside this band are sensor
 * faults or unit mistakes (a Fahrenheit number sent as Celsius), not climate.
 */
export const TEMPERATURE_MIN_C = -60
export const TEMPERATURE_MAX_C = 80

/** Relative humidity is a percentage by definition. */
export const HUMIDITY_MIN_PCT = 0
export const HUMIDITY_MAX_PCT = 100

/** Device clocks drift; more than this ahead of the server's clock is a wrong clock. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000

/**
 * A device that was offline may upload a backlog; a reading older than this is
 * almost always a device whose clock was reset (1970, or epoch seconds sent as ms).
 */
export const MAX_READING_AGE_DAYS = 7
export const MAX_READING_AGE_MS = MAX_READING_AGE_DAYS * 24 * 3_600_000

/** lab ids are positive 32-bit integers (INT in MySQL, safe in JS and SQLite). */
export const LAB_ID_MAX = 2_147_483_647

/**
 * Values are stored as integers in thousandths (m°C and m%RH): sums in rollups
 * stay exact, and a sensor's precision (about 0.01) is kept with room to spare.
 */
export const MILLI = 1000

/** One upload may hold at most this many readings (3.5 days of 30 s readings). */
export const MAX_READINGS_PER_REQUEST = 10_000

/** A day batch of 2,880 readings is about 300 KB; 4 MiB leaves room for verbose clients. */
export const UPLOAD_BODY_LIMIT_BYTES = 4 * 1024 * 1024

/**
 * An answer lists at most this many problems of a body (rejected items, validation errors) and counts the
 * rest: a hostile body of millions of bad items costs one counter, not millions of objects and an answer
 * of hundreds of MB.
 */
export const MAX_LISTED_PROBLEMS = 100
