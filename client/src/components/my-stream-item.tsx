import type { StreamView } from '../../../protocol/api.ts';
import { describeError } from '../lib/api-error.ts';
import { formatDate, timeAgo } from '../lib/format.ts';
import type { StreamKeyModel } from '../state/my-streams.ts';
import { Button, ButtonLink } from './button.tsx';
import { CopyButton } from './copy-button.tsx';
import { ErrorMessage } from './error-message.tsx';
import styles from './my-stream-item.module.css';
import { StatusBadge } from './status-badge.tsx';

/** One of my streams: status, WHIP URL, the stream key (hidden until revealed) and links. */
export function MyStreamItem({ stream, keyModel }: { stream: StreamView; keyModel: StreamKeyModel }) {
  const revealed = keyModel.key.value;
  const busy = keyModel.busy.value;
  const titleId = `stream-${stream.id}-title`;

  return (
    <article class={styles.item} aria-labelledby={titleId} data-testid="stream-item" data-stream-id={stream.id}>
      <header class={styles.head}>
        <div class={styles.titleRow}>
          <h3 id={titleId} class={styles.title}>
            {stream.title}
          </h3>
          <StatusBadge status={stream.status} />
        </div>
        <p class={styles.meta}>
          {stream.status === 'live' && stream.startTime
            ? `Live since ${timeAgo(stream.startTime)}`
            : stream.endTime
              ? `Last live ${timeAgo(stream.endTime)}`
              : `Created ${formatDate(stream.createdAt)}`}
        </p>
        {stream.description ? <p class={styles.description}>{stream.description}</p> : null}
      </header>

      <dl class={styles.fields}>
        <div class={styles.row}>
          <dt>WHIP URL</dt>
          <dd>
            <code class={styles.value} data-testid="ingest-url">
              {stream.ingestUrl}
            </code>
            <div class={styles.actions}>
              <CopyButton text={stream.ingestUrl} label="Copy WHIP URL" testId="copy-ingest-url" />
            </div>
          </dd>
        </div>
        <div class={styles.row}>
          <dt>Stream key</dt>
          <dd>
            {revealed ? (
              <code class={`${styles.value} ${styles.secret}`} data-testid="stream-key">
                {revealed.streamKey}
              </code>
            ) : (
              <span class={`${styles.value} ${styles.hidden}`} data-testid="stream-key-hidden" aria-label="Stream key hidden">
                ••••••••••••••••••••••••
              </span>
            )}
            <div class={styles.actions}>
              {revealed ? (
                <Button small onClick={keyModel.hide} aria-label="Hide stream key">
                  Hide
                </Button>
              ) : (
                <Button small onClick={() => void keyModel.reveal()} disabled={busy !== null} aria-label="Reveal stream key">
                  {busy === 'reveal' ? 'Revealing…' : 'Reveal'}
                </Button>
              )}
              <CopyButton text={keyModel.valueForCopy} label="Copy stream key" testId="copy-stream-key" />
              <Button
                small
                variant="danger"
                onClick={keyModel.askRotate}
                disabled={busy !== null || keyModel.confirmingRotate.value}
                aria-label="Rotate stream key"
              >
                {busy === 'rotate' ? 'Rotating…' : 'Rotate'}
              </Button>
            </div>
          </dd>
        </div>
      </dl>

      {keyModel.confirmingRotate.value ? (
        <div class={styles.confirm} role="alertdialog" aria-label="Confirm key rotation" data-testid="rotate-confirm">
          <p>
            Rotate the stream key? Encoders using the current key are disconnected at once and must be given the new key.
          </p>
          <div class={styles.actions}>
            <Button small variant="danger" onClick={() => void keyModel.rotate()}>
              Rotate key
            </Button>
            <Button small variant="ghost" onClick={keyModel.cancelRotate}>
              Cancel
            </Button>
          </div>
        </div>
      ) : null}

      {keyModel.error.value ? <ErrorMessage error={describeError(keyModel.error.value)} /> : null}

      <footer class={styles.links}>
        <ButtonLink small variant="primary" href={`/studio/${stream.id}`}>
          Open studio
        </ButtonLink>
        <ButtonLink small href={`/watch/${stream.id}`}>
          Watch page
        </ButtonLink>
      </footer>
    </article>
  );
}
