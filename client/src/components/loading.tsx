import styles from './loading.module.css';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class={styles.loading} role="status" aria-live="polite">
      <span class={styles.spinner} aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}
