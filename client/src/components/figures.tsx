import styles from './figures.module.css';

export interface Figure {
  label: string;
  value: string;
  /** data-testid of the value, for tests. */
  testId?: string;
}

/** A compact grid of live numbers (Studio figures, the player's stats overlay). */
export function Figures({
  figures,
  label,
  testId,
  data = {},
  overlay = false,
}: {
  figures: Figure[];
  label: string;
  testId?: string;
  /** Raw numbers as data-* attributes (machine-readable, e.g. for tests). */
  data?: Record<string, string | number | null>;
  overlay?: boolean;
}) {
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) if (value !== null) attrs[`data-${key}`] = String(value);
  return (
    <dl class={`${styles.figures} ${overlay ? styles.overlay : ''}`} aria-label={label} data-testid={testId} {...attrs}>
      {figures.map((f) => (
        <div key={f.label} class={styles.figure}>
          <dt>{f.label}</dt>
          <dd data-testid={f.testId}>{f.value}</dd>
        </div>
      ))}
    </dl>
  );
}
