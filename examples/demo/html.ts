/**
 * HTML templates with escaping by default: every value interpolated into {@link html} is escaped
 * unless it is itself the result of {@link html} (or {@link raw}).
 */

/** A fragment of HTML that is already safe to send. */
export class SafeHtml {
  readonly #text: string

  /** @param text HTML that is known to be safe */
  constructor(text: string) {
    this.#text = text
  }

  /** @returns the HTML text */
  toString(): string {
    return this.#text
  }
}

/** What a template accepts: text (escaped), safe HTML, lists of either, or nothing. */
export type HtmlValue = string | number | SafeHtml | null | undefined | false | readonly HtmlValue[]

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/**
 * Escapes text for use in HTML content and in quoted attribute values.
 *
 * @param text any text
 * @returns the escaped text
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!)
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof SafeHtml) return value.toString()
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

/**
 * A tagged template that escapes every interpolated value.
 *
 * @param strings the literal parts (trusted)
 * @param values the interpolated values (escaped unless {@link SafeHtml})
 * @returns the HTML
 *
 * @example
 * ```ts
 * html`<p>Hello, ${name}</p>` // name = '<b>' gives <p>Hello, &lt;b&gt;</p>
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let text = strings[0]!
  for (let index = 0; index < values.length; index++) {
    text += render(values[index]) + strings[index + 1]!
  }
  return new SafeHtml(text)
}
