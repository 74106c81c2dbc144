import styles from './viewer-badge.module.css';

/**
 * "3 watching" from the stream's `viewercount` event, and "5 in chat" from the chat's
 * count of open chat connections (all nodes); each appears once its count is known.
 */
export function ViewerBadge({ count, chat = null }: { count: number | null; chat?: number | null }) {
  return (
    <>
      {count !== null ? (
        <span class={styles.badge} data-testid="viewer-count" data-count={count} title="WebRTC viewers right now">
          <svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true">
            <path
              fill="currentColor"
              d="M12 5c-5 0-9 4.5-10 7 1 2.5 5 7 10 7s9-4.5 10-7c-1-2.5-5-7-10-7Zm0 11a4 4 0 1 1 0-8 4 4 0 0 1 0 8Zm0-2.2a1.8 1.8 0 1 0 0-3.6 1.8 1.8 0 0 0 0 3.6Z"
            />
          </svg>
          {count.toLocaleString()} watching
        </span>
      ) : null}
      {chat !== null ? (
        <span class={styles.badge} data-testid="chat-viewer-count" data-count={chat} title="People with the chat open right now">
          <svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true">
            <path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2Z" />
          </svg>
          {chat.toLocaleString()} in chat
        </span>
      ) : null}
    </>
  );
}
