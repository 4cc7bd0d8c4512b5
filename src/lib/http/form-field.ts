import type { IncomingMessage } from 'node:http'
import { FormTooLargeError } from '../errors.js'
import { MAX_FORM_BYTES, mediaTypeOf, readFormBodyOnce } from './form-body.js'

/** A urlencoded form as an object: one string per field, or every string of a repeated field. */
export type FormObject = Record<string, string | string[]>

/**
 * Reads one field of a body that a framework's body parser produced: a string field, or the
 * `value` of a field object (as `@fastify/multipart` attaches them). Anything else (a repeated
 * field, a file, a nested object) counts as absent.
 *
 * @param body the parsed body, of any shape
 * @param field the field name
 * @returns the field's string value, or undefined
 */
export function formFieldOf(body: unknown, field: string): string | undefined {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, field)) return undefined
  const value: unknown = (body as Record<string, unknown>)[field]
  if (typeof value === 'string') return value
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, 'value')) {
    const inner: unknown = (value as { value: unknown }).value
    if (typeof inner === 'string') return inner
  }
  return undefined
}

/**
 * Reads the token field of a parsed request body only when the request sent a form
 * (`application/x-www-form-urlencoded` or `multipart/form-data`): a JSON body never carries it,
 * on every adapter alike (the Web and Hono adapters read only forms). Send the token of a
 * `fetch()` call in the header.
 *
 * @param contentType the request's `Content-Type`
 * @param body the body a framework's parser produced
 * @param field the field name
 * @returns the field's string value, or undefined
 */
export function formBodyFieldOf(
  contentType: string | undefined,
  body: unknown,
  field: string,
): string | undefined {
  const type = mediaTypeOf(contentType)
  if (type !== 'application/x-www-form-urlencoded' && type !== 'multipart/form-data') {
    return undefined
  }
  return formFieldOf(body, field)
}

/**
 * The value of a field that must be given once: every adapter reads the CSRF token field this
 * way, so a form that repeats it is refused alike whatever parsed it.
 *
 * @param values every value the form gives the field
 * @returns the only value when there is exactly one string, else undefined
 */
export function singleFieldValue(values: readonly unknown[]): string | undefined {
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0
}

/**
 * Reads the `application/x-www-form-urlencoded` body of a Node request that no body parser has
 * read, with {@link readFormBodyOnce}, for a middleware to expose it as the parsed body.
 *
 * @param req the request
 * @param parsed the body a body parser left on the request (`req.body`, `ctx.request.body`)
 * @returns the form as an object, or undefined when there is nothing to read: the body was
 * already consumed, a parser left a non-empty body, or it is not a urlencoded form
 * @throws {@link FormTooLargeError} when the body is over 1 MiB (it is then consumed)
 */
export async function readUnparsedForm(
  req: IncomingMessage,
  parsed: unknown,
): Promise<FormObject | undefined> {
  if (req.readableEnded || (parsed !== undefined && !isEmptyObject(parsed))) return undefined
  if (mediaTypeOf(req.headers['content-type']) !== 'application/x-www-form-urlencoded') {
    return undefined
  }
  const { form, bytes, kept } = await readFormBodyOnce(req, MAX_FORM_BYTES)
  // The body is consumed: an empty form would reach the handler as if the user sent nothing.
  if (bytes > kept) throw new FormTooLargeError(kept)
  return Object.fromEntries(
    [...new Set(form.keys())].map((key) => {
      const values = form.getAll(key)
      return [key, values.length === 1 ? values[0]! : values]
    }),
  )
}
