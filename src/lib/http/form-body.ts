import type { IncomingMessage } from 'node:http'

/** The largest form body {@link readFormBody} reads. */
export const MAX_FORM_BYTES = 1024 * 1024

const forms = new WeakMap<IncomingMessage, Promise<URLSearchParams>>()

/**
 * Reads an `application/x-www-form-urlencoded` request body once and shares it: every call for
 * the same request returns the same parsed form, so a CSRF check and the handler can both read
 * it. Other content types give an empty form and leave the body unread.
 *
 * @param req the request
 * @param limit the largest body read, in bytes; a larger body gives an empty form
 * @returns the parsed form
 */
export function readFormBody(
  req: IncomingMessage,
  limit = MAX_FORM_BYTES,
): Promise<URLSearchParams> {
  const cached = forms.get(req)
  if (cached !== undefined) return cached
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  const form =
    type !== 'application/x-www-form-urlencoded'
      ? Promise.resolve(new URLSearchParams())
      : new Promise<URLSearchParams>((resolve) => {
          const chunks: Buffer[] = []
          let size = 0
          req.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size <= limit) chunks.push(chunk)
          })
          req.on('end', () =>
            resolve(
              size > limit
                ? new URLSearchParams()
                : new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
            ),
          )
          req.on('error', () => resolve(new URLSearchParams()))
        })
  forms.set(req, form)
  return form
}
