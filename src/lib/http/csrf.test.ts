import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, CsrfError } from '../errors.js'
import { jsonSerializer } from '../session/serializer.js'
import { Session } from '../session/session.js'
import { checkCsrf, resolveCsrfOptions, type CsrfRequest } from './csrf.js'

const session = (): Session =>
  new Session({ created: 0, isNew: true }, { serializer: jsonSerializer, now: () => 0 })

/** A POST to https://app.example from `origin`, carrying the session's token in the header. */
function post(target: Session, origin: string, own = 'https://app.example'): CsrfRequest {
  const headers: Record<string, string> = {
    origin,
    'x-csrf-token': target.getCsrfToken(),
  }
  return {
    method: 'POST',
    origin: own,
    header: (name) => headers[name],
    formField: () => undefined,
  }
}

const refusal = async (check: Promise<void>): Promise<string | undefined> => {
  try {
    await check
    return undefined
  } catch (error) {
    assert.ok(error instanceof CsrfError)
    return error.reason
  }
}

describe('checkCsrf trustedOrigins', () => {
  it('matches trusted origins as browsers send them: default port dropped, IDN in punycode', async () => {
    const options = resolveCsrfOptions({
      trustedOrigins: ['https://Admin.Example:443', 'https://bücher.example', 'null'],
    })
    for (const origin of ['https://admin.example', 'https://xn--bcher-kva.example', 'null']) {
      const target = session()
      assert.equal(
        await refusal(checkCsrf(post(target, origin), target, options)),
        undefined,
        origin,
      )
    }
    const target = session()
    assert.equal(
      await refusal(checkCsrf(post(target, 'https://evil.example'), target, options)),
      'bad-origin',
    )
  })

  it("compares the request's own origin in the same form", async () => {
    const options = resolveCsrfOptions()
    const target = session()
    const request = post(target, 'https://app.example', 'https://APP.example:443')
    assert.equal(await refusal(checkCsrf(request, target, options)), undefined)
  })

  it('refuses a trusted origin with a path, or that is no URL at all, at construction', () => {
    for (const origin of [
      'https://admin.example/login',
      'https://exa%mple.com',
      'https://a:99999',
    ]) {
      assert.throws(() => resolveCsrfOptions({ trustedOrigins: [origin] }), ConfigError, origin)
    }
  })

  it('never matches an Origin that is no URL, even against an own origin that is none either', async () => {
    const target = session()
    // The same text on both sides: only treating it as no origin at all refuses it.
    for (const origin of ['https://x y', 'https://a:99999']) {
      const request = post(target, origin, origin)
      assert.equal(
        await refusal(checkCsrf(request, target, resolveCsrfOptions())),
        'bad-origin',
        origin,
      )
    }
  })
})
