/** Internal: a short printable form of a value that may not be what its type says (untyped callers). */
export function preview(value: unknown, max = 80): string {
  return typeof value === 'string' ? value.slice(0, max) : `<${typeof value}>`;
}
