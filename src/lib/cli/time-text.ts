/**
 * A time for the CLI's output: ISO 8601, or the raw number when no date can show it (a signed
 * cookie or a stored record with an absurd time).
 *
 * @param ms milliseconds since the epoch
 * @returns the text
 */
export function timeText(ms: number): string {
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? `${ms} (not a valid time)` : date.toISOString()
}
