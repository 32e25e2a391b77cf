// Reading event fields whose types nobody guarantees. An event is well-formed JSON, but a field
// may hold a number where text belongs, or a list where an object does: each reader answers
// undefined (or an empty list) for the wrong type, so the renderers never throw on one.

/** value[key1][key2]…, through own properties of objects and lists only; undefined past a missing step. */
export function at(value, ...path) {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) {
      return undefined;
    }
    current = current[key];
  }
  return current;
}

/** The value when it is a string, else undefined. */
export function text(value) {
  return typeof value === 'string' ? value : undefined;
}

/** The value when it is a plain object (not null, not a list), else undefined. */
export function record(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

/** The plain objects of a list; [] when the value is no list. */
export function records(value) {
  return Array.isArray(value) ? value.filter((item) => record(item)) : [];
}

/** The strings of a list; [] when the value is no list. */
export function texts(value) {
  return Array.isArray(value) ? value.filter((item) => text(item) !== undefined) : [];
}
