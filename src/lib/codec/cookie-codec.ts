/**
 * Why a cookie value was refused. It reaches the `onInvalidCookie` hook, never the response.
 *
 * - `malformed`: not the shape of a Cloakroom cookie, or its content does not parse.
 * - `unsupported-version`: made by another version of the wire format.
 * - `unknown-key`: names a key that is not (or no longer) configured.
 * - `bad-signature`: forged, changed, or made for another cookie name or factory.
 * - `expired`: authentic, but past its idle or absolute timeout.
 * - `revoked`: authentic, but ended on the server (`invalidate()`, `regenerate()`,
 *   `revokeSessions()`) while the factory's `revocation` is on; also a cookie issued before
 *   revocation was turned on, which carries no session id to check.
 */
export type InvalidCookieReason =
  'malformed' | 'unsupported-version' | 'unknown-key' | 'bad-signature' | 'expired' | 'revoked'

/** What a session cookie carries, before it is signed or encrypted. */
export interface CookiePayload {
  /** When the session began, in milliseconds since the epoch. */
  readonly created: number
  /** When the session was last written or re-issued, in milliseconds since the epoch. */
  readonly lastActive: number
  /** The serialized session (JSON text). */
  readonly body: string
}

/** The outcome of decoding a cookie value: the payload, or why it was refused. */
export type CookieDecodeResult =
  | {
      readonly ok: true
      readonly payload: CookiePayload
      /** True when the value was made with a key other than the current one (re-issue it). */
      readonly staleKey: boolean
    }
  | { readonly ok: false; readonly reason: InvalidCookieReason }

/**
 * Turns a payload into a cookie value and back, authenticating it. Decoding never throws.
 *
 * @remarks
 * A codec may answer a value it verified before with the same result object (the built-in ones
 * keep a bounded cache). Payloads are never changed by their users, and the cookie factory keeps
 * the parse of a payload's body with the payload object, so a codec that returns a new object
 * each time is correct, only slower.
 */
export interface CookieCodec {
  /**
   * @param payload what to put in the cookie
   * @returns the cookie value (cookie-safe characters only)
   */
  encode(payload: CookiePayload): string
  /**
   * @param value an untrusted cookie value
   * @returns the payload, or the reason it was refused
   */
  decode(value: string): CookieDecodeResult
  /**
   * Optional: user keys the format cannot store as user data (a name it gives a meaning of its
   * own). The session refuses them at `set()` with `InvalidArgumentError`.
   *
   * @param key a session key
   * @returns why the key cannot be used, or undefined when it can
   */
  reservedKey?(key: string): string | undefined
}
