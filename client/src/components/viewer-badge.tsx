import styles from './viewer-badge.module.css';

/** "3 watching" from the stream's `viewercount` event; nothing until the first count arrives. */
export function ViewerBadge({ count }: { count: number | null }) {
  if (count === null) return null;
  return (
    <span class={styles.badge} data-testid="viewer-count" data-count={count} title="WebRTC viewers right now">
      <svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true">
        <path
          fill="currentColor"
          d="M12 5c-5 0-9 4.5-10 7 1 2.5 5 7 10 7s9-4.5 10-7c-1-2.5-5-7-10-7Zm0 11a4 4 0 1 1 0-8 4 4 0 0 1 0 8Zm0-2.2a1.8 1.8 0 1 0 0-3.6 1.8 1.8 0 0 0 0 3.6Z"
        />
      </svg>
      {count.toLocaleString()} watching
    </span>
  );
}
