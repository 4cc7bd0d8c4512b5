/* eslint-disable @typescript-eslint/no-unused-vars -- type-level tests name values only to read their types */
// Type-level tests: compiled by `npm run typecheck`, never run. A line that stops compiling, or an
// `@ts-expect-error` that stops erroring, fails CI.
import { createSignedCookieFactory, type Session, type SessionFactory } from 'cloakroom'
import { withSession } from 'cloakroom/node'

type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const expectType = <T extends true>(): T => true as T

interface Cart {
  items: string[]
}
interface Data {
  userId?: string
  cart?: Cart
  visits?: number
}

declare const session: Session<Data>

expectType<Equals<ReturnType<typeof session.get<'cart'>>, Cart | undefined>>()
expectType<Equals<ReturnType<typeof session.get<'visits'>>, number | undefined>>()
session.set('visits', 1)
session.set('cart', { items: ['a'] })
// @ts-expect-error a value of the wrong type
session.set('visits', 'one')
// @ts-expect-error undefined is not stored: use delete()
session.set('visits', undefined)
// @ts-expect-error an unknown key
session.get('nope')
expectType<Equals<ReturnType<typeof session.setDefault<'cart'>>, Cart>>()
expectType<Equals<ReturnType<typeof session.toJSON>, Partial<Data>>>()
for (const [key, value] of session) {
  expectType<Equals<typeof key, 'userId' | 'cart' | 'visits'>>()
  expectType<Equals<typeof value, string | Cart | number>>()
}

// Session data never becomes `any`, with or without a type argument.
declare const untyped: Session
type IsAny<T> = 0 extends 1 & T ? true : false
expectType<Equals<IsAny<ReturnType<typeof untyped.get>>, false>>()
expectType<Equals<ReturnType<typeof untyped.get>, unknown>>()

// The factory's data type flows to the adapter's request.
const factory: SessionFactory<Data> = createSignedCookieFactory<Data>({ secrets: 'x'.repeat(32) })
withSession(factory, (req, res) => {
  expectType<Equals<typeof req.session, Session<Data>>>()
  res.end()
})
