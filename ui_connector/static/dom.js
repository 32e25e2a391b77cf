// A small element builder. Text always goes in as text nodes, never as HTML, so nothing a
// customer types (or a notification carries) can inject markup.

/**
 * h('p', {className: 'x', 'data-testid': 'y'}, 'text', childElement): properties whose name has a
 * dash are set as attributes, the others as element properties; false, null, undefined and ''
 * children are skipped.
 */
export function h(tag, properties = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name.includes('-')) {
      element.setAttribute(name, value);
    } else {
      element[name] = value;
    }
  }
  element.append(...children.filter((child) => child || child === 0));
  return element;
}

const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** A <time> element showing the hour and minute of an RFC 3339 timestamp (now when there is none). */
export function timeElement(timestamp) {
  const parsed = new Date(timestamp);
  const date = Number.isNaN(parsed.getTime()) ? new Date() : parsed;
  return h('time', { dateTime: date.toISOString() }, TIME_FORMAT.format(date));
}
