import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CliIO } from './command.js'
import { createProgressLine, formatPruneProgress } from './progress.js'

function recorder(isStderrTTY: boolean): { io: CliIO; stderr: string[] } {
  const stderr: string[] = []
  return {
    stderr,
    io: { stdout: () => undefined, stderr: (text) => stderr.push(text), env: {}, isStderrTTY },
  }
}

describe('createProgressLine', () => {
  it('redraws one line in place on a terminal and erases it when done', () => {
    const { io, stderr } = recorder(true)
    const progress = createProgressLine(io)
    progress.update('one')
    progress.update('two\nlines')
    progress.done()
    progress.done()
    assert.deepEqual(stderr, ['\rone\x1b[K', '\rtwo lines\x1b[K', '\r\x1b[K'])
  })

  it('writes nothing when standard error is not a terminal', () => {
    const { io, stderr } = recorder(false)
    const progress = createProgressLine(io)
    progress.update('one')
    progress.done()
    assert.deepEqual(stderr, [])
  })

  it('erases nothing when no line was drawn', () => {
    const { io, stderr } = recorder(true)
    createProgressLine(io).done()
    assert.deepEqual(stderr, [])
  })
})

describe('formatPruneProgress', () => {
  it('says how many sessions have been deleted so far', () => {
    assert.equal(formatPruneProgress(1), 'pruning: 1 expired session deleted so far...')
    assert.equal(formatPruneProgress(2000), 'pruning: 2000 expired sessions deleted so far...')
  })
})
