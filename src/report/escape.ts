/**
 * Escaping for text placed into report.html. Everything that comes from a run directory (config
 * values, event messages, layer names, paths) goes through one of these before it reaches the page.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes `& < > " '` so the text is safe both as element content and inside a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON for a `<script type="application/json">` element: `<`, `>` and `&` become `\u003c`-style
 * escapes so no `</script>` or `<!--` can end the element early, and U+2028 / U+2029 are escaped as
 * well. `JSON.parse` of the element's text gives back exactly `value` (non-finite numbers excepted,
 * which JSON cannot carry: callers pass null for them).
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * Makes JavaScript source safe to inline in a `<script>` element: the only sequence that could end
 * the element is `</script` (HTML is case-insensitive), which becomes `<\/script` — the same string
 * or regular expression to the JavaScript parser.
 */
export function inlineScriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
}

/** Makes CSS safe to inline in a `<style>` element (`</style` cannot occur in a valid rule). */
export function inlineStyleSource(source: string): string {
  return source.replace(/<\/(style)/gi, '<\\/$1');
}
