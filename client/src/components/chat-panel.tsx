import { useMemo, useRef } from 'preact/hooks';
import { useStickToBottom } from '../lib/use-stick-to-bottom.ts';
import type { ChatLine } from '../state/chat-lines.ts';
import type { Chat, PendingSend } from '../state/create-chat.ts';
import { Button } from './button.tsx';
import { ChatComposer, ReactionBar } from './chat-composer.tsx';
import { ChatLineView, PendingLineView } from './chat-message.tsx';
import styles from './chat-panel.module.css';

type Row = { key: string; line: ChatLine; pending?: undefined } | { key: string; pending: PendingSend; line?: undefined };

/**
 * The live chat of a stream: the lines (plain text only), moderation menus for the
 * streamer and moderators, reactions and the message input. `loginNext` is where the
 * "Log in" link comes back to.
 */
export function ChatPanel({ chat, loginNext }: { chat: Chat; loginNext: string }) {
  const list = useRef<HTMLDivElement>(null);
  const lines = chat.lines.value;
  const pending = chat.pending.value;
  const rows = useMemo<Row[]>(() => [...lines.map((line) => ({ key: line.key, line })), ...pending.map((p) => ({ key: p.key, pending: p }))], [lines, pending]);
  const scroll = useStickToBottom(list, rows, { onTop: () => void chat.loadOlder(), onBottom: chat.resumeLive });
  const status = chat.status.value;
  const notice = chat.notice.value;

  return (
    <section class={styles.panel} aria-labelledby="chat-title" data-testid="chat" data-status={status}>
      <header class={styles.head}>
        <h2 id="chat-title">Chat</h2>
        {status === 'reconnecting' || status === 'connecting' ? (
          <span class={styles.connection} role="status" data-testid="chat-connection">
            {status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'}
          </span>
        ) : null}
      </header>

      <div class={styles.listWrap}>
        <div ref={list} class={styles.list} onScroll={scroll.onScroll} role="log" aria-label="Chat messages" data-testid="chat-list">
          <p class={styles.history}>
            {chat.loadingOlder.value ? (
              'Loading older messages…'
            ) : chat.olderError.value ? (
              <>
                {chat.olderError.value}{' '}
                <Button small variant="ghost" onClick={() => void chat.loadOlder()}>
                  Try again
                </Button>
              </>
            ) : chat.hasOlder.value ? (
              <Button small variant="ghost" onClick={() => void chat.loadOlder()}>
                Load older messages
              </Button>
            ) : status === 'connected' ? (
              lines.length === 0 ? 'No messages yet. Say hello!' : 'This is the start of the chat.'
            ) : null}
          </p>
          <ol class={styles.lines}>
            {rows.map((row) =>
              row.line ? <ChatLineView key={row.key} line={row.line} chat={chat} /> : <PendingLineView key={row.key} entry={row.pending} chat={chat} />,
            )}
          </ol>
        </div>
        {!scroll.following && scroll.unseen > 0 ? (
          <button type="button" class={styles.newMessages} onClick={scroll.scrollToBottom} data-testid="chat-new-messages">
            {scroll.unseen === 1 ? '1 new message' : `${scroll.unseen} new messages`} ↓
          </button>
        ) : null}
      </div>

      {notice ? (
        <p class={`${styles.notice} ${notice.tone === 'error' ? styles.noticeError : ''}`} role="status" data-testid="chat-notice">
          {notice.text}
        </p>
      ) : null}
      <ReactionBar chat={chat} />
      <ChatComposer chat={chat} loginNext={loginNext} />
    </section>
  );
}
