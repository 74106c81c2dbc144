import { StatusBadge } from '../components/status-badge.tsx';
import { formatCount, timeAgo } from '../lib/format.ts';
import { useTitle } from '../lib/use-title.ts';
import styles from './stream-page.module.css';
import { StreamGate } from '../components/stream-gate.tsx';
import { useStream } from '../lib/use-stream.ts';

/** Placeholder: shows what the stream is; the player arrives with the media work. */
export default function WatchPage({ params }: { params: Record<string, string> }) {
  const stream = useStream(params.id);
  useTitle(stream.data.value?.title ?? 'Watch');
  return (
    <StreamGate resource={stream}>
      {(s) => (
        <div class={styles.page}>
          <div class={styles.player} data-testid="player-placeholder">
            <span>{s.status === 'live' ? 'Playback is coming soon.' : 'This stream is offline.'}</span>
          </div>
          <div class={styles.info}>
            <div class={styles.titleRow}>
              <h1 data-testid="stream-title">{s.title}</h1>
              <StatusBadge status={s.status} />
            </div>
            <p class={styles.meta}>
              {s.owner ? (
                <a href={`/u/${s.userId}`}>{s.owner.displayName || s.owner.username}</a>
              ) : (
                <a href={`/u/${s.userId}`}>Streamer profile</a>
              )}
              {s.status === 'live' && s.startTime ? <span>started {timeAgo(s.startTime)}</span> : null}
              <span>{formatCount(s.viewCount, 'view', 'views')}</span>
            </p>
            {s.description ? <p class={styles.description}>{s.description}</p> : null}
          </div>
        </div>
      )}
    </StreamGate>
  );
}
