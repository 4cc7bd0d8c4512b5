import type { IncomingMessage } from 'node:http'

/** The largest form body {@link readFormBody} reads. */
export const MAX_FORM_BYTES = 1024 * 1024

/**
 * The media type of a request's `Content-Type`, lower case and without parameters.
 *
 * @param contentType the header's value
 * @returns the media type, such as `application/x-www-form-urlencoded`, or `''`
 */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase()
}

/** A request's form body, read once: its fields (empty when they were not kept) and its size. */
export interface ReadFormBody {
  /** The fields, when the body was kept; empty otherwise. */
  readonly form: URLSearchParams
  /**
   * The body's size in bytes (0 for a body of another type). For a body over the limit, the
   * bytes known when reading stopped: its `Content-Length`, or what had arrived by then.
   */
  readonly bytes: number
  /** The most bytes the first read kept: a larger body's fields were dropped. */
  readonly kept: number
}

const forms = new WeakMap<IncomingMessage, Promise<ReadFormBody>>()

/**
 * Reads the body into memory, up to `limit` bytes, and puts it back into the request stream
 * (`unshift`, before its `'end'`), so that whoever reads the request next (the handler, a body
 * parser) still gets the whole body. A body that declares or sends more than `limit` is dropped
 * as soon as that is known, without waiting for the rest: the promise settles at once, the
 * chunks read so far are released, and what the client still sends is discarded.
 */
function readUpTo(req: IncomingMessage, limit: number): Promise<ReadFormBody> {
  return new Promise((resolve) => {
    const dropped = (bytes: number): void =>
      resolve({ form: new URLSearchParams(), bytes, kept: limit })
    const declared = Number(req.headers['content-length'])
    if (declared > limit) return dropped(declared)
    // An empty body that has all arrived: no `'readable'` would come for it (attaching the
    // listener would emit `'end'` instead), so there is nothing to wait for.
    if (req.complete && req.readableLength === 0) {
      return resolve({ form: new URLSearchParams(), bytes: 0, kept: limit })
    }
    const chunks: Buffer[] = []
    let size = 0
    const stop = (): void => {
      req.off('readable', onReadable)
      req.off('error', onError)
    }
    // Paused mode: read() hands out what has arrived; at the end of the body `'readable'` comes
    // once more, before `'end'`, which is what makes the unshift possible.
    const onReadable = (): void => {
      let chunk: Buffer | null
      while ((chunk = req.read() as Buffer | null) !== null) {
        size += chunk.length
        if (size > limit) {
          stop()
          chunks.length = 0
          req.on('error', () => {})
          req.resume() // the rest is discarded
          return dropped(size)
        }
        chunks.push(chunk)
      }
      // `complete`: the whole message has been parsed, so nothing more will arrive.
      if (!req.complete) return
      stop()
      const body = Buffer.concat(chunks)
      if (body.length > 0) req.unshift(body)
      resolve({ form: new URLSearchParams(body.toString('utf8')), bytes: size, kept: limit })
    }
    const onError = (): void => {
      stop()
      resolve({ form: new URLSearchParams(), bytes: 0, kept: limit })
    }
    req.on('readable', onReadable)
    req.on('error', onError)
  })
}

/**
 * Library-internal: reads an `application/x-www-form-urlencoded` request body once, keeping at
 * most `limit` bytes of it (the first call's limit), and shares the result between callers.
 * Other content types leave the body unread. A body over the limit settles as soon as its
 * `Content-Length` or its first chunks show it, not when the client has sent it all.
 *
 * @param req the request
 * @param limit the largest body kept, in bytes (on the first call)
 * @returns the read body
 */
export function readFormBodyOnce(req: IncomingMessage, limit: number): Promise<ReadFormBody> {
  const cached = forms.get(req)
  if (cached !== undefined) return cached
  const read =
    mediaTypeOf(req.headers['content-type']) !== 'application/x-www-form-urlencoded'
      ? Promise.resolve({ form: new URLSearchParams(), bytes: 0, kept: limit })
      : readUpTo(req, limit)
  forms.set(req, read)
  return read
}

/**
 * Reads an `application/x-www-form-urlencoded` request body once and shares it: every call for
 * the same request returns the same parsed form, so a CSRF check and the handler can both read
 * it. Other content types give an empty form and leave the body unread.
 *
 * @param req the request
 * @param limit the largest body read, in bytes; a larger body gives an empty form. The body is
 *   read once, by the first call: a later call with a higher limit cannot get back a body the
 *   first call's limit dropped.
 * @returns the parsed form
 */
export async function readFormBody(
  req: IncomingMessage,
  limit = MAX_FORM_BYTES,
): Promise<URLSearchParams> {
  const { form, bytes, kept } = await readFormBodyOnce(req, limit)
  return bytes <= Math.min(limit, kept) ? form : new URLSearchParams()
}
