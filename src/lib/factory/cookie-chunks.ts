/** The most cookies one session may be split into (browsers keep about 150 per site). */
export const MAX_COOKIE_CHUNKS = 32

const SEPARATOR = '~'
const COUNT = /^([1-9][0-9]?)~/
// Room kept in the first chunk for the `<count>~` prefix: two digits and the separator.
const PREFIX_ROOM = 3

/**
 * Splits a cookie value into chunks for the cookies `name.0`, `name.1`, ... The first chunk starts
 * with the number of chunks and `~` (`3~...`), so a reader never mistakes a leftover chunk of an
 * older, larger session for part of this one.
 *
 * @remarks
 * The chunks are not authenticated one by one: the joined value is, by the codec, as one message.
 * A missing, extra, reordered or changed chunk therefore fails authentication as a whole.
 *
 * @param value the whole cookie value (cookie-safe ASCII)
 * @param capacity how many characters chunk `index` may hold
 * @returns the chunk values, or undefined when it would take more than {@link MAX_COOKIE_CHUNKS}
 *   chunks (or a chunk has no room at all)
 */
export function splitCookieValue(
  value: string,
  capacity: (index: number) => number,
): string[] | undefined {
  const chunks: string[] = []
  let offset = 0
  while (offset < value.length) {
    const index = chunks.length
    const room = capacity(index) - (index === 0 ? PREFIX_ROOM : 0)
    if (room < 1 || index >= MAX_COOKIE_CHUNKS) return undefined
    chunks.push(value.slice(offset, offset + room))
    offset += room
  }
  if (chunks.length === 0) return undefined
  chunks[0] = `${chunks.length}${SEPARATOR}${chunks[0]}`
  return chunks
}

/**
 * Joins chunks made by {@link splitCookieValue}.
 *
 * @param chunks the chunk values by index, `undefined` where one is missing
 * @returns the whole value, or undefined when the chunks are incomplete or not ours; chunks past
 *   the count the first one announces are ignored
 */
export function joinCookieChunks(chunks: readonly (string | undefined)[]): string | undefined {
  const first = chunks[0]
  if (first === undefined) return undefined
  const match = COUNT.exec(first)
  if (match === null) return undefined
  const count = Number(match[1])
  if (count > MAX_COOKIE_CHUNKS || count > chunks.length) return undefined
  let joined = first.slice(match[0].length)
  for (let index = 1; index < count; index++) {
    const chunk = chunks[index]
    if (chunk === undefined) return undefined
    joined += chunk
  }
  return joined
}
