/** Test helper: the MofnError code `fn` throws, or 'no error'; any other exception is rethrown. */
import { isMofnError } from '@mofn/core';

export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!isMofnError(err)) throw err;
    return err.code;
  }
  return 'no error';
}
