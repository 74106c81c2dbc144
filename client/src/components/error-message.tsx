import type { ComponentChildren } from 'preact';
import { describeError } from '../lib/api-error.ts';
import styles from './error-message.module.css';

/** An error in words (from an ApiError's message, or a plain string), announced to screen readers. */
export function ErrorMessage({ error, children }: { error: unknown; children?: ComponentChildren }) {
  if (error === null || error === undefined || error === '') return null;
  const text = typeof error === 'string' ? error : describeError(error);
  return (
    <div class={styles.error} role="alert">
      <span>{text}</span>
      {children}
    </div>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class={styles.notice} role="status">
      {children}
    </div>
  );
}
