import assert from 'node:assert/strict'
import { request as httpRequest, createServer, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { StoreUnavailableError } from '../errors.js'
import { interceptResponse, type ResponseInterceptorOptions } from './response-interceptor.js'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The headers as received, `[name, value, ...]`, repeats kept. */
  raw: string[]
  body: string
}

/** Serves one request with `handle`, and returns what the client received. */
async function serveOnce(handle: (res: ServerResponse) => void): Promise<Answer> {
  const server = createServer((_req, res) => handle(res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  try {
    return await new Promise<Answer>((resolve, reject) => {
      httpRequest({ port, host: '127.0.0.1' }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, raw: res.rawHeaders, body }),
        )
      })
        .on('error', reject)
        .end()
    })
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const syncCommit = (cookies: string[]): ResponseInterceptorOptions => ({
  commit: () => cookies,
  onCommitError: () => 500,
})

/** A commit that waits for a store: resolves with `cookies` on a later turn of the event loop. */
const storeCommit = (cookies: string[], reported: unknown[] = []): ResponseInterceptorOptions => ({
  commit: () => new Promise((resolve) => setTimeout(() => resolve(cookies), 5)),
  onCommitError: (error) => {
    reported.push(error)
    return 500
  },
})

/** The values of header `name` in a raw header list. */
function rawValues(raw: string[], name: string): string[] {
  const values: string[] = []
  for (let index = 0; index + 1 < raw.length; index += 2) {
    if (raw[index]!.toLowerCase() === name) values.push(raw[index + 1]!)
  }
  return values
}

describe('interceptResponse', () => {
  it('adds the cookies before writeHead, merging the headers given to it', async () => {
    const answer = await serveOnce((res) => {
      interceptResponse(res, syncCommit(['a=1; Path=/']))
      res.writeHead(201, { vary: 'Accept', 'set-cookie': 'app=1' }).end('made')
    })
    assert.equal(answer.status, 201)
    assert.deepEqual(answer.headers['set-cookie'], ['app=1', 'a=1; Path=/'])
    assert.equal(answer.headers.vary, 'Accept, Cookie')
    assert.equal(answer.body, 'made')
  })

  it('runs the callbacks of calls made after end() while a store commit was awaited, as node:http does', async () => {
    const settled: string[] = []
    const errors: unknown[] = []
    const answer = await serveOnce((res) => {
      interceptResponse(res, storeCommit(['a=1; Path=/']))
      res.on('error', (error) => errors.push(error))
      res.end('first')
      res.end(() => settled.push('end: finished'))
      res.write('late', (error) => settled.push(`write: ${(error as { code?: string }).code}`))
      // node:http calls it with the error, though its type says no argument.
      const endLater = res.end.bind(res) as (chunk: string, cb: (error?: unknown) => void) => void
      endLater('later', (error) =>
        settled.push(`end with data: ${(error as { code?: string }).code}`),
      )
    })
    assert.equal(answer.body, 'first')
    assert.deepEqual(answer.headers['set-cookie'], ['a=1; Path=/'])
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(settled.sort(), [
      'end with data: ERR_STREAM_WRITE_AFTER_END',
      'end: finished',
      'write: ERR_STREAM_WRITE_AFTER_END',
    ])
    assert.deepEqual(errors, [], 'no error event where nobody listens')
  })

  it('commits once, at the first write, and keeps the chunks in order', async () => {
    let commits = 0
    const answer = await serveOnce((res) => {
      interceptResponse(res, {
        commit: () => {
          commits += 1
          return Promise.resolve(['a=1'])
        },
        onCommitError: () => 500,
      })
      res.write('one,')
      res.write('two,')
      res.end('three')
    })
    assert.equal(commits, 1)
    assert.deepEqual(answer.headers['set-cookie'], ['a=1'])
    assert.equal(answer.body, 'one,two,three')
  })

  it('passes the failure mark to the commit', async () => {
    const seen: boolean[] = []
    await serveOnce((res) => {
      const interceptor = interceptResponse(res, {
        commit: (failed) => {
          seen.push(failed)
          return []
        },
        onCommitError: () => 500,
      })
      interceptor.markFailed()
      res.end()
    })
    assert.deepEqual(seen, [true])
  })

  it('answers the status onCommitError chooses, without the application headers', async () => {
    const reported: unknown[] = []
    const answer = await serveOnce((res) => {
      interceptResponse(res, {
        commit: () => Promise.reject(new StoreUnavailableError('commit')),
        onCommitError: (error) => {
          reported.push(error)
          return 503
        },
      })
      res.setHeader('x-app', 'yes')
      res.end('never sent')
    })
    assert.equal(answer.status, 503)
    assert.equal(answer.body, 'Service Unavailable')
    assert.equal(answer.headers['x-app'], undefined)
    assert.ok(reported[0] instanceof StoreUnavailableError)
  })

  it('keeps the status of writeHead called without headers, with or without a message', async () => {
    for (const commit of [syncCommit(['a=1']), storeCommit(['a=1'])]) {
      const bare = await serveOnce((res) => {
        interceptResponse(res, commit)
        res.writeHead(404).end('missing')
      })
      assert.deepEqual(
        [bare.status, bare.body, bare.headers['set-cookie']],
        [404, 'missing', ['a=1']],
      )
      const withMessage = await serveOnce((res) => {
        interceptResponse(res, commit)
        res.writeHead(202, 'Taken').end()
      })
      assert.deepEqual([withMessage.status, withMessage.headers['set-cookie']], [202, ['a=1']])
    }
  })

  it('keeps every value of a name repeated in a list of pairs given to writeHead', async () => {
    const answer = await serveOnce((res) => {
      interceptResponse(res, syncCommit(['a=1']))
      res.setHeader('link', '</old>')
      res.writeHead(200, [
        ['Link', '</a>'],
        ['Link', '</b>'],
      ] as unknown as string[])
      res.end()
    })
    assert.deepEqual(rawValues(answer.raw, 'link'), ['</a>', '</b>'])
  })

  it('pauses a piped stream while a store commit is awaited, then lets it finish', async () => {
    const total = 8 * 1024 * 1024
    let produced = 0
    let producedAtCommit = -1
    const answer = await serveOnce((res) => {
      interceptResponse(res, {
        commit: () =>
          new Promise((resolve) =>
            setTimeout(() => {
              producedAtCommit = produced
              resolve(['a=1'])
            }, 50),
          ),
        onCommitError: () => 500,
      })
      new Readable({
        read() {
          if (produced >= total) return void this.push(null)
          produced += 64 * 1024
          this.push(Buffer.alloc(64 * 1024, 'x'))
        },
      }).pipe(res)
    })
    assert.equal(answer.body.length, total)
    assert.deepEqual(answer.headers['set-cookie'], ['a=1'])
    assert.ok(
      producedAtCommit >= 0 && producedAtCommit <= 256 * 1024,
      `read ${producedAtCommit} bytes of the source while the commit was awaited`,
    )
  })

  it('writes the head once when a library writes it again while a store commit is awaited', async () => {
    const reported: unknown[] = []
    const answer = await serveOnce((res) => {
      interceptResponse(res, storeCommit(['a=1'], reported))
      res.writeHead(200, { 'content-type': 'text/plain' })
      // compression 1.7 checks `res._header` (still unset) and writes the head again.
      res.writeHead(200)
      res.end('body')
    })
    assert.deepEqual(
      [answer.status, answer.body, answer.headers['set-cookie']],
      [200, 'body', ['a=1']],
    )
    assert.deepEqual(reported, [])
  })

  it('still calls the callbacks of calls a failed commit drops, with its error', async () => {
    for (const fails of [
      (): never => {
        throw new Error('too large')
      },
      () => Promise.reject(new StoreUnavailableError('commit')),
    ]) {
      const called: unknown[] = []
      await serveOnce((res) => {
        interceptResponse(res, { commit: fails, onCommitError: () => 500 })
        res.write('a', () => called.push('write'))
        res.end((error: unknown) => called.push(error))
      })
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(called.length, 2)
      assert.ok(called[1] instanceof Error)
    }
  })

  it('keeps the repeats of a flat header list given to writeHead, as node:http does', async () => {
    const answer = await serveOnce((res) => {
      interceptResponse(res, syncCommit(['a=1']))
      res.setHeader('link', '</old>')
      res.writeHead(200, [
        ...['Link', '</a>', 'Link', '</b>', 'Vary', 'Accept', 'Vary', 'Origin'],
        ...['Content-Length', '0', 'X-Empty', ''],
      ])
      res.end()
    })
    assert.deepEqual(rawValues(answer.raw, 'link'), ['</a>', '</b>'])
    assert.deepEqual(rawValues(answer.raw, 'content-length'), ['0'])
    assert.deepEqual(rawValues(answer.raw, 'x-empty'), [''])
    assert.deepEqual(rawValues(answer.raw, 'vary'), ['Accept, Origin, Cookie'])
  })

  it('lets a Set-Cookie given to writeHead replace one set before, as node:http does', async () => {
    const answer = await serveOnce((res) => {
      interceptResponse(res, syncCommit(['a=1']))
      res.setHeader('set-cookie', ['lang=en'])
      res.writeHead(200, res.getHeaders())
      res.end()
    })
    assert.deepEqual(answer.headers['set-cookie'], ['lang=en', 'a=1'])
  })

  it('answers 500 for a failed commit from a stream callback, and drops what follows', async () => {
    const reported: unknown[] = []
    const answer = await serveOnce((res) => {
      interceptResponse(res, {
        commit: () => {
          throw new Error('too large')
        },
        onCommitError: (error) => {
          reported.push(error)
          return 500
        },
      })
      // No try/catch around these calls: a throw from them would crash the process.
      setTimeout(() => {
        res.write('first chunk')
        res.end('the rest')
      }, 1)
    })
    assert.equal(answer.status, 500)
    assert.equal(answer.body, 'Internal Server Error')
    assert.equal((reported[0] as Error).message, 'too large')
  })

  it('still answers 500 when the error reporter itself throws', async () => {
    const answer = await serveOnce((res) => {
      interceptResponse(res, {
        commit: () => {
          throw new Error('too large')
        },
        onCommitError: () => {
          throw new Error('the logging hook failed too')
        },
      })
      res.end('never sent')
    })
    assert.equal(answer.status, 500)
    assert.equal(answer.body, 'Internal Server Error')
  })

  it('says the headers are sent while a store commit is pending, and drops calls after end', async () => {
    const seen: boolean[] = []
    const answer = await serveOnce((res) => {
      interceptResponse(res, storeCommit(['a=1']))
      res.end('sent')
      seen.push(res.headersSent)
      // Writes after end() would emit an error event nobody listens to.
      res.write('late')
      res.end('later')
      setTimeout(() => seen.push(res.headersSent), 20)
    })
    assert.equal(answer.body, 'sent')
    assert.deepEqual(answer.headers['set-cookie'], ['a=1'])
    await new Promise((resolve) => setTimeout(resolve, 30))
    assert.deepEqual(seen, [true, true])
  })

  it('refuses header changes and ignores a new status after end while a store commit is pending, as node:http does', async () => {
    const codes: unknown[] = []
    const answer = await serveOnce((res) => {
      // A wrapper another library put on the response itself, before the interception.
      const setHeader = res.setHeader.bind(res)
      const wrapper: typeof res.setHeader = (name, value) =>
        setHeader(name, name === 'x-early' ? 'kept' : value)
      res.setHeader = wrapper
      interceptResponse(res, storeCommit(['a=1']))
      res.setHeader('x-early', 'wrapped')
      res.end('sent')
      for (const change of [
        () => res.setHeader('x-late', 'set'),
        () => res.appendHeader('x-late', 'appended'),
        () => res.removeHeader('x-early'),
      ]) {
        try {
          change()
          codes.push('no error')
        } catch (error) {
          codes.push((error as { code?: unknown }).code)
        }
      }
      res.statusCode = 404
      res.statusMessage = 'Changed'
      res.on('finish', () => codes.push(res.setHeader === wrapper ? 'wrapper back' : 'lost'))
    })
    await new Promise((resolve) => setTimeout(resolve, 10))
    assert.deepEqual(codes, [...Array(3).fill('ERR_HTTP_HEADERS_SENT'), 'wrapper back'])
    assert.equal(answer.status, 200)
    assert.equal(answer.headers['x-early'], 'kept')
    assert.equal(answer.headers['x-late'], undefined)
    assert.deepEqual(answer.headers['set-cookie'], ['a=1'])
    assert.equal(answer.body, 'sent')
  })

  it('reports a held-back call that fails when replayed, instead of an unhandled rejection', async () => {
    const reported: unknown[] = []
    const answer = await serveOnce((res) => {
      interceptResponse(res, storeCommit(['a=1'], reported))
      res.writeHead(200, { 'x-user': 'bad\nvalue' })
      res.end('never sent')
    })
    assert.equal(answer.status, 500)
    assert.equal(answer.body, 'Internal Server Error')
    assert.equal((reported[0] as { code?: string }).code, 'ERR_INVALID_CHAR')
  })

  it('keeps working under a wrapper installed after it, and removes itself when outermost', async () => {
    let wrapped = 0
    const answer = await serveOnce((res) => {
      interceptResponse(res, syncCommit(['a=1']))
      const inner = res.end.bind(res) as (chunk?: string) => ServerResponse
      res.end = ((chunk?: string) => {
        wrapped += 1
        return inner(chunk?.toUpperCase())
      }) as typeof res.end
      res.end('shout')
    })
    assert.equal(wrapped, 1)
    assert.equal(answer.body, 'SHOUT')
    assert.deepEqual(answer.headers['set-cookie'], ['a=1'])

    await serveOnce((res) => {
      interceptResponse(res, syncCommit([]))
      res.end()
      // Restored by assignment (deleting would slow every later access to the response).
      const own = res as unknown as Record<string, unknown>
      const prototype = ServerResponse.prototype as unknown as Record<string, unknown>
      assert.equal(own.end, prototype.end)
      assert.equal(own.writeHead, prototype.writeHead)
    })
  })
})
