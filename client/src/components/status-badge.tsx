import type { StreamStatus } from '../../../protocol/api.ts';
import styles from './status-badge.module.css';

export function StatusBadge({ status }: { status: StreamStatus }) {
  return (
    <span class={`${styles.badge} ${status === 'live' ? styles.live : styles.offline}`} data-testid="stream-status">
      {status === 'live' ? 'Live' : 'Offline'}
    </span>
  );
}
