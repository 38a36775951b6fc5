/**
 * The one way this page makes elements: text goes in as text nodes, never as markup. City,
 * group, venue and topic names come from a public feed; nothing here parses a string as HTML
 * (no innerHTML, no insertAdjacentHTML), so `<img src=x onerror=...>` shows as those characters.
 */

export type Child = Node | string | number | null | undefined | false;

export interface ElementOptions {
  /** Class names, space-separated. */
  className?: string;
  /** Attributes set with setAttribute: values are plain strings, never parsed. */
  attrs?: Record<string, string | number | boolean | undefined>;
}

/** `<tag class attrs>children</tag>`; strings and numbers become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElementOptions | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (options?.className) element.className = options.className;
  for (const [name, value] of Object.entries(options?.attrs ?? {})) {
    if (value === undefined || value === false) continue;
    // Event handlers are attached with addEventListener, never as attributes.
    if (/^on/i.test(name)) throw new Error(`refusing to set the event attribute ${name}`);
    element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, ...children);
  return element;
}

/** Appends children, strings as text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** Replaces all children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** Sets an element's text, when it changed (keeps screen readers and layout calm). */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/** The element with this id, or an error naming it: index.html and main.ts must agree. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

/** True when the reader asked for less motion. */
export function prefersReducedMotion(): boolean {
  return window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;
}
