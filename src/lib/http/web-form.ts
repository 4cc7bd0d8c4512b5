import { MAX_FORM_BYTES, mediaTypeOf } from './form-body.js'

const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data'])

/**
 * Library-internal: reads the form of a Web `Request` from a clone (so the handler still gets the
 * body), at most `limit` bytes of it: a larger body, like a body of another type or one that does
 * not parse, reads as no form. Reading stops at the limit, so a huge body costs no more memory
 * than a form of the limit.
 *
 * @param request the request
 * @param limit the largest body read, in bytes
 * @returns the form, or undefined
 */
export async function readWebForm(
  request: Request,
  limit = MAX_FORM_BYTES,
): Promise<FormData | undefined> {
  const contentType = request.headers.get('content-type') ?? ''
  if (!FORM_TYPES.has(mediaTypeOf(contentType)) || request.body === null) return undefined
  // A body something already read cannot be cloned: no form here (Hono has its own copy).
  if (request.bodyUsed) return undefined
  if (Number(request.headers.get('content-length')) > limit) return undefined
  const reader = request.clone().body!.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > limit) {
        // Not awaited: cancelling one branch of a tee settles only once the other is cancelled.
        reader.cancel().catch(() => undefined)
        return undefined
      }
      chunks.push(value)
    }
    const body = Buffer.concat(chunks)
    return await new Response(body, { headers: { 'content-type': contentType } }).formData()
  } catch {
    return undefined // a malformed body: the handler meets the same error
  }
}
