// The few DOM helpers the views share. Text goes in as text, never as markup: event and API
// data are untrusted.
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Sets a node's text only when it changed, so a refresh does not disturb what did not.
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
