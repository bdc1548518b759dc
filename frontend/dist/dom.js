// A small element builder. Strings become text nodes (never HTML): policy
// and agent text can hold "<b>" and must show it literally.

// h(tag, props, ...children): props set attributes, except "class", "text"
// (textContent), "on<event>" (listeners) and boolean properties (disabled,
// hidden) given as true/false.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null) {
      continue;
    }
    if (k === 'class') {
      el.className = v;
    } else if (k === 'text') {
      el.textContent = v;
    } else if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (typeof v === 'boolean') {
      el[k] = v;
    } else {
      el.setAttribute(k, String(v));
    }
  }
  for (const c of children.flat(Infinity)) {
    if (c !== null && c !== undefined && c !== false) {
      el.append(c);
    }
  }
  return el;
}
