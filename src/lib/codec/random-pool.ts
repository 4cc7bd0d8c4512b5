import { randomBytes } from 'node:crypto'
import { startupSnapshot } from 'node:v8'

const EMPTY = Buffer.alloc(0)

/** A source of random bytes, as `crypto.randomBytes` is. */
export type RandomSource = (size: number) => Uint8Array

/**
 * Random bytes from `crypto.randomBytes`, drawn in blocks: one call per block instead of one per
 * request (a 12-byte call costs about as much as the AES-GCM encryption it serves). Every byte is
 * handed out once; a refill allocates a new block, so bytes already handed out never change.
 * A process started from a startup snapshot draws a new block instead of the one the snapshot
 * holds.
 *
 * @param blockSize the bytes drawn at a time
 * @returns the source; requests over a quarter of a block are served directly
 */
export function createRandomPool(blockSize = 4096): RandomSource {
  // Empty until first used: bytes drawn when the module loads would be kept in a startup
  // snapshot (node --build-snapshot) and handed out again by every process started from it.
  let block = EMPTY
  let offset = 0
  // Bytes drawn while a snapshot is built are dropped when a process starts from it: reused,
  // they would repeat AES-GCM IVs and session ids across processes. (Node 20 answers 1, not
  // true, while building.)
  if (startupSnapshot?.isBuildingSnapshot()) {
    startupSnapshot.addDeserializeCallback(() => {
      block = EMPTY
      offset = 0
    })
  }
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
