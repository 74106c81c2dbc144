import { MAX_MESSAGE_LENGTH, REACTIONS } from '../lib/chat-protocol.ts';
import type { Chat } from '../state/create-chat.ts';
import { Button, ButtonLink } from './button.tsx';
import styles from './chat-panel.module.css';

/** The message input with its character counter; off, with the reason and countdown, while the chat refuses us. */
export function ChatComposer({ chat, loginNext }: { chat: Chat; loginNext: string }) {
  const composer = chat.composer.value;
  const remaining = chat.remaining.value;
  const draft = chat.draft.value;
  const settings = chat.settings.value;
  const modes = [
    settings && settings.slowModeSeconds > 0 ? `Slow mode: ${settings.slowModeSeconds} s` : null,
    settings?.followersOnly ? 'Followers only' : null,
    settings?.subscribersOnly ? 'Subscribers only' : null,
  ].filter(Boolean);

  return (
    <form
      class={styles.composer}
      onSubmit={(event) => {
        event.preventDefault();
        void chat.send();
      }}
    >
      {composer.reason ? (
        <div class={styles.restriction} role="status" data-testid="chat-restriction">
          <span>{composer.reason}</span>
          {composer.action === 'login' ? (
            <ButtonLink small variant="primary" href={`/login?next=${encodeURIComponent(loginNext)}`}>
              Log in
            </ButtonLink>
          ) : null}
          {composer.action === 'follow' ? (
            <Button small variant="primary" onClick={() => void chat.follow()} data-testid="chat-follow">
              Follow
            </Button>
          ) : null}
        </div>
      ) : null}
      <div class={styles.inputRow}>
        <input
          class={styles.input}
          type="text"
          value={draft}
          onInput={(event) => (chat.draft.value = event.currentTarget.value)}
          placeholder={composer.blocked ? '' : 'Send a message'}
          aria-label="Chat message"
          aria-invalid={remaining < 0}
          aria-describedby="chat-counter"
          disabled={composer.blocked}
          autocomplete="off"
          enterKeyHint="send"
          data-testid="chat-input"
        />
        <Button type="submit" small variant="primary" disabled={composer.blocked || draft.trim() === '' || remaining < 0}>
          Send
        </Button>
      </div>
      <div class={styles.inputMeta}>
        <span class={styles.modes}>{modes.join(' · ')}</span>
        <span id="chat-counter" class={`${styles.counter} ${remaining < 0 ? styles.over : remaining < 50 ? styles.near : ''}`} data-testid="chat-counter">
          {MAX_MESSAGE_LENGTH - remaining}/{MAX_MESSAGE_LENGTH}
        </span>
      </div>
    </form>
  );
}

/** One button per reaction; the reactions float over the video (ReactionOverlay). */
export function ReactionBar({ chat }: { chat: Chat }) {
  if (!chat.me.value.user) return null;
  const blocked = chat.reactionsBlocked.value;
  return (
    <div class={styles.reactions} role="group" aria-label="Reactions">
      {REACTIONS.map((emoji) => (
        <button type="button" key={emoji} class={styles.reaction} disabled={blocked} aria-label={`React with ${emoji}`} onClick={() => void chat.react(emoji)}>
          {emoji}
        </button>
      ))}
    </div>
  );
}
