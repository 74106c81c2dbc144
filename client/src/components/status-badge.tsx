import type { StreamStatus } from '../../../protocol/api.ts';
import styles from './status-badge.module.css';

const LABELS: Record<StreamStatus, string> = { live: 'Live', reconnecting: 'Reconnecting', offline: 'Offline' };

export function StatusBadge({ status }: { status: StreamStatus }) {
  return (
    <span class={`${styles.badge} ${styles[status]}`} data-testid="stream-status" data-status={status}>
      {LABELS[status]}
    </span>
  );
}
