import type { Session } from 'cloakroom'

/**
 * The shopping cart, designed so that two tabs adding at once both keep their item.
 *
 * A server-side store saves a request's changes as a patch of the session keys it changed, so
 * two requests that change *different* keys both survive. A cart kept as one array under one key
 * (`cart: { items: [...] }`) is one value: two tabs pushing to it at once each write back their
 * own copy of the array, and the later one wins. So each line of the cart is its own key,
 * `cart:<product id>`: adding an umbrella in one tab and a scarf in another changes two keys,
 * and both are kept. Adding the *same* product in two tabs at once still changes one key, and
 * one of the two increments is lost; a real shop would keep such counters in its database.
 *
 * With the cookie factories (`signed`, `encrypted`) the whole session is the cookie, so the
 * last response's cookie wins whatever the keys: concurrent adds can lose an item there.
 */

/** A product on sale. */
export interface Product {
  /** The id, also the cart key suffix. */
  readonly id: string
  /** The name shown. */
  readonly name: string
  /** The price, in cents. */
  readonly priceCents: number
}

/** One line of the cart, stored under `cart:<product id>`. */
export interface CartLine {
  /** How many. Changed in place: `line.quantity += 1`, without `changed()`. */
  quantity: number
  /**
   * When the last units were added (at most {@link RECENT_ADDITIONS}), in milliseconds since the
   * epoch: a nested array, also changed in place.
   */
  added: number[]
}

/** The shape of the demo's session data. */
export interface DemoData {
  /** The logged-in user's name. */
  user?: string
  /** When the user logged in, in milliseconds since the epoch. */
  loggedInAt?: number
  /** The Fred page's keys. */
  abc?: string
  fred?: string
  /** The cart, one key per product. */
  [line: `cart:${string}`]: CartLine
}

/** The catalogue. */
export const PRODUCTS: readonly Product[] = [
  { id: 'umbrella', name: 'Umbrella', priceCents: 1800 },
  { id: 'scarf', name: 'Wool scarf', priceCents: 2400 },
  { id: 'gloves', name: 'Leather gloves', priceCents: 3900 },
  { id: 'hat', name: 'Felt hat', priceCents: 4500 },
]

/**
 * @param id a product id from a form
 * @returns the product, or undefined for an unknown id
 */
export function findProduct(id: string | undefined): Product | undefined {
  return PRODUCTS.find((product) => product.id === id)
}

/** A cart line with its product. */
export interface CartEntry {
  readonly product: Product
  readonly line: CartLine
}

/**
 * @param session the request's session
 * @returns the cart's lines, in catalogue order
 */
export function readCart(session: Session<DemoData>): CartEntry[] {
  const entries: CartEntry[] = []
  for (const product of PRODUCTS) {
    const line = session.get(`cart:${product.id}`)
    if (line !== undefined) entries.push({ product, line })
  }
  return entries
}

/** The most units of one product a cart holds. */
export const MAX_QUANTITY = 99
/** How many addition times a cart line keeps. */
export const RECENT_ADDITIONS = 5

/**
 * Adds one unit of a product: a new line is `set`; an existing one is changed in place, and the
 * session sees the change without `changed()`. Quantities stop at {@link MAX_QUANTITY} and each
 * line keeps its last {@link RECENT_ADDITIONS} times, so the session stays small enough for a
 * cookie (about 4 KB) whatever the user clicks.
 *
 * @param session the request's session
 * @param product the product
 * @param now the time of the addition
 * @returns false when the line is already at {@link MAX_QUANTITY}
 */
export function addToCart(session: Session<DemoData>, product: Product, now: number): boolean {
  const line = session.get(`cart:${product.id}`)
  if (line === undefined) {
    session.set(`cart:${product.id}`, { quantity: 1, added: [now] })
    return true
  }
  if (line.quantity >= MAX_QUANTITY) return false
  line.quantity += 1
  line.added.push(now)
  if (line.added.length > RECENT_ADDITIONS) line.added.shift()
  return true
}

/**
 * Removes one unit of a product, and the line when it was the last.
 *
 * @param session the request's session
 * @param product the product
 */
export function removeFromCart(session: Session<DemoData>, product: Product): void {
  const line = session.get(`cart:${product.id}`)
  if (line === undefined) return
  if (line.quantity <= 1) {
    session.delete(`cart:${product.id}`)
    return
  }
  line.quantity -= 1
  line.added.pop()
}

/**
 * @param cents an amount in cents
 * @returns the amount in euros, such as `€18.00`
 */
export function formatPrice(cents: number): string {
  return `€${(cents / 100).toFixed(2)}`
}
