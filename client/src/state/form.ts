import { batch, signal } from '@preact/signals';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { ApiError, describeError } from '../lib/api-error.ts';

export type FieldErrors<F> = Partial<Record<keyof F & string, string>>;

export interface FormOptions<F extends Record<string, string>> {
  initial: F;
  submit: (values: F) => Promise<void>;
  /** Errors without `details` that still belong to one field, e.g. `USERNAME_TAKEN: 'username'`. */
  fieldForCode?: Partial<Record<ErrorCode, keyof F & string>>;
  /** Checks worth doing before asking the server (required fields); the server checks again. */
  validate?: (values: F) => FieldErrors<F>;
}

export type Form<F extends Record<string, string>> = ReturnType<typeof createForm<F>>;

/**
 * A form's values, its per-field and form-wide errors and whether it is submitting.
 * API errors are shown in words: each `details` entry next to its field, the message on top.
 */
export function createForm<F extends Record<string, string>>(opts: FormOptions<F>) {
  const values = signal<F>({ ...opts.initial });
  const fieldErrors = signal<FieldErrors<F>>({});
  const formError = signal<string | null>(null);
  const submitting = signal(false);
  const fields = new Set(Object.keys(opts.initial));

  function set(name: keyof F & string, value: string): void {
    values.value = { ...values.peek(), [name]: value };
    if (fieldErrors.peek()[name]) {
      const rest = { ...fieldErrors.peek() };
      delete rest[name];
      fieldErrors.value = rest;
    }
  }

  function reset(next: Partial<F> = {}): void {
    batch(() => {
      values.value = { ...opts.initial, ...next };
      fieldErrors.value = {};
      formError.value = null;
    });
  }

  function showError(err: unknown): void {
    const perField: FieldErrors<F> = {};
    const unplaced: string[] = [];
    if (err instanceof ApiError) {
      for (const issue of err.details) {
        const name = issue.path.split('.')[0] ?? '';
        if (fields.has(name)) {
          const key = name as keyof F & string;
          perField[key] = perField[key] ? `${perField[key]}; ${issue.message}` : issue.message;
        } else {
          unplaced.push(issue.path ? `${issue.path}: ${issue.message}` : issue.message);
        }
      }
      const field = opts.fieldForCode?.[err.code as ErrorCode];
      if (err.details.length === 0 && field) perField[field] = err.message;
    }
    const placedAll = Object.keys(perField).length > 0 && unplaced.length === 0;
    batch(() => {
      fieldErrors.value = perField;
      formError.value = placedAll
        ? err instanceof ApiError && err.details.length > 0
          ? 'Please correct the highlighted fields.'
          : null
        : [describeError(err), ...unplaced].join(' ');
    });
  }

  /** Validates, submits, shows errors. Resolves true on success; never rejects. */
  async function submit(): Promise<boolean> {
    if (submitting.peek()) return false;
    const current = values.peek();
    const local = opts.validate?.(current) ?? {};
    if (Object.keys(local).length > 0) {
      batch(() => {
        fieldErrors.value = local;
        formError.value = null;
      });
      return false;
    }
    batch(() => {
      submitting.value = true;
      fieldErrors.value = {};
      formError.value = null;
    });
    try {
      await opts.submit(current);
      return true;
    } catch (err) {
      showError(err);
      return false;
    } finally {
      submitting.value = false;
    }
  }

  return { values, fieldErrors, formError, submitting, set, reset, submit, showError };
}

/** A `validate` helper: every listed field must be non-blank. */
export function required<F extends Record<string, string>>(...names: (keyof F & string)[]) {
  return (values: F): FieldErrors<F> => {
    const errors: FieldErrors<F> = {};
    for (const name of names) if (!values[name]?.trim()) errors[name] = 'is required';
    return errors;
  };
}
