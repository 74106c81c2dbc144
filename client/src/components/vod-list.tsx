import { useEffect, useRef } from 'preact/hooks';
import type { VodView } from '../../../protocol/api.ts';
import { asStreamId } from '../../../protocol/ids.ts';
import { formatClock } from '../lib/media-time.ts';
import { useModel } from '../lib/use-model.ts';
import { useServices } from '../lib/use-services.ts';
import { createResource } from '../state/resource.ts';
import { Button } from './button.tsx';
import styles from './watch-player.module.css';

const RELOAD_AFTER_MS = 3_000;

/** The stream's past broadcasts (VODs), newest first, each with a Play button. */
export function VodList({ streamId, reloadKey, playing, onPlay }: { streamId: string; reloadKey: string; playing: string | null; onPlay: (v: VodView) => void }) {
  const { api } = useServices();
  const vods = useModel(() => createResource(() => api.vods(asStreamId(streamId)).then((r) => r.items)), [api, streamId]);
  const loadedFor = useRef<unknown>(null);
  useEffect(() => {
    void vods.load();
    const changed = loadedFor.current === vods;
    loadedFor.current = vods;
    if (!changed) return undefined;
    // The stream just went offline or its live playlist ended: that broadcast becomes a VOD
    // a moment later (its recording is closing).
    const again = setTimeout(() => void vods.load(), RELOAD_AFTER_MS);
    return () => clearTimeout(again);
  }, [vods, reloadKey]);
  const items = vods.data.value ?? [];
  if (items.length === 0) return null;
  return (
    <section class={styles.vods} aria-label="Past broadcasts" data-testid="vod-list">
      <h2>Past broadcasts</h2>
      <ul class={styles.vodList}>
        {items.map((v) => (
          <li key={v.id} class={styles.vod} data-testid="vod-item" data-vod-id={v.id}>
            <span>
              {new Date(v.startedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}{' '}
              <span class={styles.vodMeta}>· {formatClock(v.durationSeconds)}</span>
            </span>
            <Button small variant={playing === v.id ? 'primary' : 'secondary'} onClick={() => onPlay(v)} aria-label={`Play the broadcast of ${v.startedAt}`}>
              {playing === v.id ? 'Playing' : 'Play'}
            </Button>
          </li>
        ))}
      </ul>
    </section>
  );
}
