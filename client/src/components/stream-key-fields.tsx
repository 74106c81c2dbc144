import { describeError } from '../lib/api-error.ts';
import type { StreamKeyModel } from '../state/my-streams.ts';
import { Button } from './button.tsx';
import { CopyButton } from './copy-button.tsx';
import { ErrorMessage } from './error-message.tsx';
import styles from './stream-key-fields.module.css';

/**
 * The WHIP URL and the stream key of one stream (hidden until revealed, copyable without
 * showing it), and optionally key rotation behind a confirmation. Used on "My streams"
 * and in the Studio.
 */
export function StreamKeyFields({
  ingestUrl,
  keyModel,
  allowRotate = true,
  stacked = false,
}: {
  ingestUrl: string;
  keyModel: StreamKeyModel;
  allowRotate?: boolean;
  /** Labels above the values (for narrow columns). */
  stacked?: boolean;
}) {
  const revealed = keyModel.key.value;
  const busy = keyModel.busy.value;
  return (
    <>
      <dl class={`${styles.fields} ${stacked ? styles.stacked : ''}`}>
        <div class={styles.row}>
          <dt>WHIP URL</dt>
          <dd>
            <code class={styles.value} data-testid="ingest-url">
              {ingestUrl}
            </code>
            <div class={styles.actions}>
              <CopyButton text={ingestUrl} label="Copy WHIP URL" testId="copy-ingest-url" />
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
              {allowRotate ? (
                <Button
                  small
                  variant="danger"
                  onClick={keyModel.askRotate}
                  disabled={busy !== null || keyModel.confirmingRotate.value}
                  aria-label="Rotate stream key"
                >
                  {busy === 'rotate' ? 'Rotating…' : 'Rotate'}
                </Button>
              ) : null}
            </div>
          </dd>
        </div>
      </dl>

      {allowRotate && keyModel.confirmingRotate.value ? (
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
    </>
  );
}
