import { useEffect } from 'preact/hooks';
import { formatDuration } from '../lib/chat-errors.ts';
import { describeLogEntry, type ChatAdmin } from '../state/chat-admin.ts';
import { Button } from './button.tsx';
import { ErrorMessage } from './error-message.tsx';
import styles from './chat-settings.module.css';

/**
 * The streamer's chat controls in the Studio: modes and banned words, moderators (appointed
 * from a chatter's message menu, removed here), bans and timeouts, and the last actions.
 */
export function ChatSettings({ admin }: { admin: ChatAdmin }) {
  useEffect(() => admin.load(), [admin]);
  return (
    <section class={styles.area} aria-labelledby="chat-admin-title" data-testid="chat-admin">
      <h2 id="chat-admin-title">Chat moderation</h2>
      <div class={styles.grid}>
        <SettingsForm admin={admin} />
        <div class={styles.column}>
          <Moderators admin={admin} />
          <Bans admin={admin} />
        </div>
        <ModerationLog admin={admin} />
      </div>
      <ErrorMessage error={admin.actionError.value} />
    </section>
  );
}

function SettingsForm({ admin }: { admin: ChatAdmin }) {
  const form = admin.form.value;
  if (!form) return <p class={styles.muted}>Loading the chat settings…</p>;
  const error = admin.saveError.value ?? admin.formError.value;
  return (
    <form
      class={styles.card}
      aria-label="Chat settings"
      data-testid="chat-settings"
      onSubmit={(event) => {
        event.preventDefault();
        void admin.save();
      }}
    >
      <h3>Settings</h3>
      <label class={styles.field}>
        <span>Slow mode (seconds between messages, 0 = off)</span>
        <input type="number" min={0} max={3600} step={1} value={form.slowModeSeconds} onInput={(e) => admin.edit({ slowModeSeconds: e.currentTarget.value })} data-testid="chat-slow-mode" />
      </label>
      <label class={styles.check}>
        <input type="checkbox" checked={form.followersOnly} onChange={(e) => admin.edit({ followersOnly: e.currentTarget.checked })} />
        <span>Followers only</span>
      </label>
      <label class={styles.check}>
        <input type="checkbox" checked={form.subscribersOnly} onChange={(e) => admin.edit({ subscribersOnly: e.currentTarget.checked })} />
        <span>Subscribers only</span>
      </label>
      <label class={styles.field}>
        <span>Banned words (one per line)</span>
        <textarea rows={4} value={form.bannedWords} onInput={(e) => admin.edit({ bannedWords: e.currentTarget.value })} data-testid="chat-banned-words" />
      </label>
      {error ? (
        <p class={styles.error} role="alert">
          {error}
        </p>
      ) : null}
      <div class={styles.buttons}>
        <Button type="submit" small variant="primary" disabled={!admin.dirty.value || admin.saving.value || !!admin.formError.value}>
          {admin.saving.value ? 'Saving…' : 'Save'}
        </Button>
        {admin.dirty.value ? (
          <Button small variant="ghost" onClick={admin.discard}>
            Discard
          </Button>
        ) : admin.saved.value ? (
          <span class={styles.saved} role="status">
            Saved.
          </span>
        ) : null}
      </div>
    </form>
  );
}

function Moderators({ admin }: { admin: ChatAdmin }) {
  const items = admin.moderators.data.value;
  return (
    <div class={styles.card} data-testid="chat-moderators">
      <h3>Moderators</h3>
      <ErrorMessage error={admin.moderators.error.value} />
      {items && items.length > 0 ? (
        <ul class={styles.rows}>
          {items.map((m) => (
            <li key={m.id}>
              <span>
                {m.displayName || m.username} <span class={styles.muted}>@{m.username}</span>
              </span>
              <Button small variant="ghost" onClick={() => void admin.removeModerator(m)} aria-label={`Remove ${m.username} as moderator`}>
                Remove
              </Button>
            </li>
          ))}
        </ul>
      ) : items ? (
        <p class={styles.muted}>No moderators yet. Choose “Make moderator” in the menu of a chatter’s message.</p>
      ) : null}
    </div>
  );
}

function Bans({ admin }: { admin: ChatAdmin }) {
  const items = admin.bans.data.value;
  return (
    <div class={styles.card} data-testid="chat-bans">
      <h3>Banned and timed out</h3>
      <ErrorMessage error={admin.bans.error.value} />
      {items && items.length > 0 ? (
        <ul class={styles.rows}>
          {items.map((b) => (
            <li key={b.userId}>
              <span>
                {b.username}{' '}
                <span class={styles.muted}>
                  {b.expiresAt ? `timed out, ${formatDuration(Date.parse(b.expiresAt) - Date.now())} left` : 'banned'}
                  {b.reason ? ` · ${b.reason}` : ''}
                </span>
              </span>
              <Button small variant="ghost" onClick={() => void admin.unban(b)} aria-label={`Unban ${b.username}`}>
                Unban
              </Button>
            </li>
          ))}
        </ul>
      ) : items ? (
        <p class={styles.muted}>Nobody is banned or timed out.</p>
      ) : null}
    </div>
  );
}

function ModerationLog({ admin }: { admin: ChatAdmin }) {
  const items = admin.log.data.value;
  return (
    <div class={`${styles.card} ${styles.log}`} data-testid="chat-moderation-log">
      <h3>Last actions</h3>
      <ErrorMessage error={admin.log.error.value} />
      {items && items.length > 0 ? (
        <ol class={styles.logList}>
          {items.map((e) => (
            <li key={e.id}>
              <time dateTime={e.createdAt} class={styles.muted}>
                {new Date(e.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
              </time>{' '}
              {describeLogEntry(e)}
            </li>
          ))}
        </ol>
      ) : items ? (
        <p class={styles.muted}>Nothing yet.</p>
      ) : null}
    </div>
  );
}
