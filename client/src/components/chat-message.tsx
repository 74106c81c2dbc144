import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatMessage } from '../../../protocol/signalling.ts';
import type { ChatLine } from '../state/chat-lines.ts';
import { chatName } from '../state/chat-notices.ts';
import type { Chat, PendingSend } from '../state/create-chat.ts';
import styles from './chat-panel.module.css';

const TIMEOUT_SECONDS = 600;

/** A message or a notice. Text is always rendered as text: markup in a message stays visible as typed. */
export function ChatLineView({ line, chat }: { line: ChatLine; chat: Chat }) {
  if (line.kind === 'notice') {
    return (
      <li class={`${styles.noticeLine} ${styles[line.tone]}`} data-testid="chat-notice-line">
        {line.text}
      </li>
    );
  }
  const m = line.message;
  const mine = !!m.user && m.user.id === chat.me.value.user?.id;
  return (
    <li class={`${styles.message} ${mine ? styles.mine : ''}`} data-testid="chat-message" data-id={m.id} data-author={m.user?.username ?? ''}>
      <span class={styles.meta} title={new Date(m.at).toLocaleTimeString()}>
        <RoleBadges message={m} />
        <span class={styles.author} style={m.user ? { color: nameColour(m.user.username) } : undefined}>
          {m.user ? chatName(m.user) : 'Deleted account'}
        </span>
      </span>
      <span class={styles.text} data-testid="chat-message-text">
        {m.text}
      </span>
      <MessageMenu message={m} chat={chat} />
    </li>
  );
}

function RoleBadges({ message }: { message: ChatMessage }) {
  return (
    <>
      {message.role === 'streamer' ? (
        <span class={`${styles.badge} ${styles.streamerBadge}`} title="Streamer" data-testid="badge-streamer">
          Streamer
        </span>
      ) : null}
      {message.role === 'moderator' ? (
        <span class={`${styles.badge} ${styles.modBadge}`} title="Moderator" data-testid="badge-mod">
          Mod
        </span>
      ) : null}
      {message.subscriber ? (
        <span class={`${styles.badge} ${styles.subBadge}`} title="Subscriber" data-testid="badge-sub">
          Sub
        </span>
      ) : null}
    </>
  );
}

/** Delete / Time out / Ban (streamer and moderators), Make or remove moderator (streamer). */
function MessageMenu({ message, chat }: { message: ChatMessage; chat: Chat }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const options = chat.optionsFor(message);

  useEffect(() => {
    if (!open) return;
    const outside = (event: Event) => {
      if (root.current && !root.current.contains(event.target as Node)) setOpen(false);
    };
    const escape = (event: KeyboardEvent) => {
      if (event.key === 'Escape') setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    document.addEventListener('keydown', escape);
    root.current?.querySelector<HTMLButtonElement>('[role="menuitem"]')?.focus();
    return () => {
      document.removeEventListener('pointerdown', outside);
      document.removeEventListener('keydown', escape);
    };
  }, [open]);

  if (!Object.values(options).some(Boolean)) return null;
  const user = message.user;
  const who = user ? chatName(user) : 'this message';

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    try {
      await action();
    } finally {
      setBusy(false);
      setOpen(false);
    }
  }

  return (
    <div class={styles.menuRoot} ref={root}>
      <button
        type="button"
        class={styles.menuButton}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={`Moderate the message from ${who}`}
        data-testid="chat-message-menu"
        onClick={() => setOpen(!open)}
      >
        ⋯
      </button>
      {open ? (
        <div class={styles.menu} role="menu" aria-label={`Moderate ${who}`}>
          {options.delete ? (
            <button type="button" role="menuitem" disabled={busy} onClick={() => void run(() => chat.deleteMessage(message.id))}>
              Delete
            </button>
          ) : null}
          {options.timeout && user ? (
            <button type="button" role="menuitem" disabled={busy} onClick={() => void run(() => chat.timeout(user, TIMEOUT_SECONDS))}>
              Time out 10 min
            </button>
          ) : null}
          {options.ban && user ? (
            <button type="button" role="menuitem" class={styles.danger} disabled={busy} onClick={() => void run(() => chat.ban(user))}>
              Ban
            </button>
          ) : null}
          {options.makeModerator && user ? (
            <button type="button" role="menuitem" disabled={busy} onClick={() => void run(() => chat.setModerator(user, true))}>
              Make moderator
            </button>
          ) : null}
          {options.removeModerator && user ? (
            <button type="button" role="menuitem" disabled={busy} onClick={() => void run(() => chat.setModerator(user, false))}>
              Remove moderator
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

/** Our own message on its way, or refused (with the reason, Retry and Remove). */
export function PendingLineView({ entry, chat }: { entry: PendingSend; chat: Chat }) {
  const name = chat.me.value.user ? chatName(chat.me.value.user) : 'You';
  return (
    <li class={`${styles.message} ${styles.pending} ${entry.state === 'failed' ? styles.failed : ''}`} data-testid="chat-pending" data-state={entry.state}>
      <span class={styles.meta}>
        <span class={styles.author}>{name}</span>
      </span>
      <span class={styles.text}>{entry.text}</span>
      {entry.state === 'failed' ? (
        <span class={styles.pendingError}>
          <span data-testid="chat-pending-error">{entry.error}</span>{' '}
          <button type="button" class={styles.linkButton} onClick={() => chat.retry(entry.key)} disabled={chat.composer.value.blocked}>
            Retry
          </button>{' '}
          <button type="button" class={styles.linkButton} onClick={() => chat.dismiss(entry.key)}>
            Remove
          </button>
        </span>
      ) : (
        <span class={styles.sending}>{entry.state === 'queued' ? 'waiting for the connection…' : 'sending…'}</span>
      )}
    </li>
  );
}

/** A stable, readable colour per name (on the dark theme). */
function nameColour(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360} 75% 72%)`;
}
