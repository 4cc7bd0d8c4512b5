/**
 * `cloakroom/pyramid`: sessions shared with a Pyramid app, in the cookie format of Pyramid 2's
 * `SignedCookieSessionFactory`.
 *
 * @example
 * ```ts
 * import { createPyramidCookieFactory } from 'cloakroom/pyramid'
 * const factory = createPyramidCookieFactory({ secret: process.env.PYRAMID_SESSION_SECRET! })
 * ```
 *
 * @module cloakroom/pyramid
 */
export {
  createPyramidCookieFactory,
  type PyramidCookieFactoryOptions,
} from './lib/factory/pyramid-cookie-factory.js'
export {
  createPyramidCodec,
  PYRAMID_CSRF_KEY,
  PYRAMID_DEFAULT_SALT,
  PYRAMID_FLASH_PREFIX,
  PYRAMID_SYSTEM_PREFIX,
  type PyramidCodecOptions,
  type PyramidHashAlgorithm,
} from './lib/codec/pyramid-codec.js'
