import type { Chat } from '../state/create-chat.ts';
import styles from './reaction-overlay.module.css';

/** Reactions floating up over the video for a moment; decorative, so hidden from screen readers. */
export function ReactionOverlay({ chat }: { chat: Chat }) {
  const reactions = chat.reactions.value;
  return (
    <div class={styles.overlay} aria-hidden="true" data-testid="reaction-overlay">
      {reactions.map((r) => (
        <span key={r.key} class={styles.reaction} style={{ left: `${(r.x * 100).toFixed(1)}%` }} title={r.by} data-testid="floating-reaction">
          {r.emoji}
        </span>
      ))}
    </div>
  );
}
