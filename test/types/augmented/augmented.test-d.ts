// Type-level tests of data typed once, by augmenting `SessionData` and `FlashTypes`, as the README
// says: compiled by `npm run typecheck` in a program of its own (see tsconfig.json here), never
// run. A line that stops compiling, or an `@ts-expect-error` that stops erroring, fails CI.
import type { Context } from 'hono'
import type { ParameterizedContext } from 'koa'
import type { FastifyRequest } from 'fastify'
import type { Request as ExpressRequest } from 'express'
import { createSignedCookieFactory, type DefaultSessionData, type Session } from 'cloakroom'
import type { SessionRequest } from 'cloakroom/node'
import 'cloakroom/express'
import 'cloakroom/fastify'
import 'cloakroom/hono'
import 'cloakroom/koa'

interface Cart {
  items: string[]
}

declare module 'cloakroom' {
  interface SessionData {
    userId?: string
    cart?: Cart
  }
  interface FlashTypes {
    message: { text: string; level: 'info' | 'error' }
  }
}

type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const expectType = <T extends true>(): T => true as T

expectType<Equals<DefaultSessionData, { userId?: string; cart?: Cart }>>()

// Every adapter's session, and a factory made without a type argument, use the augmented data.
declare const express: ExpressRequest
declare const fastify: FastifyRequest
declare const hono: Context
declare const koa: ParameterizedContext
declare const node: SessionRequest
const sessions = [
  express.session,
  fastify.session,
  hono.get('session'),
  koa.session,
  node.session,
  createSignedCookieFactory({ secrets: 'x'.repeat(32) }).load(undefined) as Session,
] as const
for (const session of sessions) {
  expectType<Equals<ReturnType<typeof session.get<'cart'>>, Cart | undefined>>()
  session.set('userId', 'ann')
  // @ts-expect-error a value of the wrong type
  session.set('userId', 5)
  // @ts-expect-error a key the data does not have
  session.get('nope')
  session.flash({ text: 'Saved.', level: 'info' })
  // @ts-expect-error a flash message of another shape
  session.flash('Saved.')
  expectType<
    Equals<ReturnType<typeof session.popFlash>, { text: string; level: 'info' | 'error' }[]>
  >()
}
