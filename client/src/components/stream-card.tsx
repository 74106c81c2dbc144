import type { StreamView } from '../../../protocol/api.ts';
import { formatCount, timeAgo } from '../lib/format.ts';
import styles from './stream-card.module.css';

/** A live stream on the home page; the whole card links to its watch page. */
export function StreamCard({ stream }: { stream: StreamView }) {
  const owner = stream.owner?.displayName || stream.owner?.username;
  return (
    <a href={`/watch/${stream.id}`} class={styles.card} data-testid="stream-card">
      <div class={styles.thumb} style={{ '--hue': hue(stream.id) }}>
        <span class={styles.live} data-status={stream.status}>{stream.status === 'reconnecting' ? 'Reconnecting' : 'Live'}</span>
        <span class={styles.viewers}>{formatCount(stream.viewCount, 'viewer', 'viewers')}</span>
      </div>
      <div class={styles.body}>
        <h3 class={styles.title}>{stream.title}</h3>
        <p class={styles.meta}>
          {owner ? <span>{owner}</span> : null}
          {stream.startTime ? <span>started {timeAgo(stream.startTime)}</span> : null}
        </p>
      </div>
    </a>
  );
}

/** A stable colour per stream, so thumbnails differ before real previews exist. */
function hue(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) % 360;
  return String(h);
}
