/**
 * Strings people type, as every schema accepts them: no control characters. NUL cannot be
 * stored by PostgreSQL at all, and the others corrupt logs, CSV exports and layouts; they
 * are refused with a field error (400), never passed on to fail deeper down.
 */
import { z } from 'zod';

// eslint-disable-next-line no-control-regex
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
// eslint-disable-next-line no-control-regex
const NO_CONTROL_BUT_LINES = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;
const MESSAGE = 'must not contain control characters';

/** One line: names, titles, logins, tokens. */
export function singleLine() {
  return z.string().regex(NO_CONTROL, MESSAGE);
}

/** Several lines (tabs and line breaks allowed): a bio, a description. */
export function multiLine() {
  return z.string().regex(NO_CONTROL_BUT_LINES, MESSAGE);
}
