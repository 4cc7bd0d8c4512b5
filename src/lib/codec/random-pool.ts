import { randomBytes } from 'node:crypto'

/** A source of random bytes, as `crypto.randomBytes` is. */
export type RandomSource = (size: number) => Uint8Array

/**
 * Random bytes from `crypto.randomBytes`, drawn in blocks: one call per block instead of one per
 * request (a 12-byte call costs about as much as the AES-GCM encryption it serves). Every byte is
 * handed out once; a refill allocates a new block, so bytes already handed out never change.
 *
 * @param blockSize the bytes drawn at a time
 * @returns the source; requests over a quarter of a block are served directly
 */
export function createRandomPool(blockSize = 4096): RandomSource {
  let block = randomBytes(blockSize)
  let offset = 0
  return (size) => {
    if (size > blockSize / 4) return randomBytes(size)
    if (offset + size > block.length) {
      block = randomBytes(blockSize)
      offset = 0
    }
    const bytes = block.subarray(offset, offset + size)
    offset += size
    return bytes
  }
}

/** The pool shared by the library's defaults (IVs, session ids, CSRF tokens). */
export const pooledRandomBytes: RandomSource = createRandomPool()
