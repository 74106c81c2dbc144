import type { RefObject } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

/** Within this many pixels of the bottom counts as "at the bottom". */
const SLACK_PX = 48;
/** Within this many pixels of the top asks for older lines. */
const TOP_PX = 40;

/**
 * Auto-scroll for a chat list: follows new lines while the list is at the bottom (also
 * when the list gets smaller), and stops following once the user scrolls up, counting the
 * lines that arrived since (for a "new messages" button). Older lines put on top keep what
 * the user was reading in place.
 */
export function useStickToBottom<T extends { key: string }>(
  list: RefObject<HTMLElement>,
  lines: readonly T[],
  opts: { onTop?: () => void; onBottom?: () => void } = {},
) {
  const [following, setFollowing] = useState(true);
  /** Newest key rendered, first key rendered, and the height then. */
  const last = useRef<{ first: string | undefined; newest: string | undefined; height: number }>({ first: undefined, newest: undefined, height: 0 });
  /** The newest line when the user scrolled away from the bottom. */
  const seen = useRef<string | undefined>(undefined);
  const followingRef = useRef(true);
  /** Position and sizes at the last look: only the reader moving up stops the following, not a resize. */
  const lastTop = useRef(0);
  const lastSize = useRef({ scroll: 0, client: 0 });
  const handlers = useRef(opts);
  handlers.current = opts;

  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    const prev = last.current;
    const first = lines[0]?.key;
    if (followingRef.current) {
      el.scrollTop = el.scrollHeight;
      lastTop.current = el.scrollTop;
    } else if (first !== prev.first && prev.first !== undefined && lines.some((l) => l.key === prev.first)) {
      // Older lines arrived on top: keep the same line under the reader's eyes.
      el.scrollTop += el.scrollHeight - prev.height;
    }
    last.current = { first, newest: lines.at(-1)?.key, height: el.scrollHeight };
    lastSize.current = { scroll: el.scrollHeight, client: el.clientHeight };
  }, [list, lines]);

  // A list that gets smaller (window resized, notice shown under it) stays at the bottom.
  useEffect(() => {
    const el = list.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      lastSize.current = { scroll: el.scrollHeight, client: el.clientHeight };
      if (!followingRef.current) return;
      el.scrollTop = el.scrollHeight;
      lastTop.current = el.scrollTop;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [list]);

  const follow = useCallback((on: boolean) => {
    if (on === followingRef.current) return;
    followingRef.current = on;
    seen.current = on ? undefined : last.current.newest;
    setFollowing(on);
    if (on) handlers.current.onBottom?.();
  }, []);

  const onScroll = useCallback(() => {
    const el = list.current;
    if (!el) return;
    const top = el.scrollTop;
    // A scroll event also comes when the list or its lines change size (a resized window
    // re-wraps the lines): that keeps the following as it was; the reader scrolling up stops it.
    const resized = el.scrollHeight !== lastSize.current.scroll || el.clientHeight !== lastSize.current.client;
    lastSize.current = { scroll: el.scrollHeight, client: el.clientHeight };
    if (el.scrollHeight - top - el.clientHeight <= SLACK_PX) follow(true);
    else if (resized) {
      if (followingRef.current) el.scrollTop = el.scrollHeight;
    } else if (top < lastTop.current) follow(false);
    lastTop.current = el.scrollTop;
    last.current.height = el.scrollHeight;
    if (el.scrollTop <= TOP_PX && el.scrollHeight > el.clientHeight) handlers.current.onTop?.();
  }, [list, follow]);

  const scrollToBottom = useCallback(() => {
    const el = list.current;
    if (el) {
      el.scrollTop = el.scrollHeight;
      lastTop.current = el.scrollTop;
    }
    follow(true);
  }, [list, follow]);

  let unseen = 0;
  if (!following && seen.current !== undefined) {
    const at = lines.findIndex((l) => l.key === seen.current);
    unseen = at < 0 ? lines.length : lines.length - 1 - at;
  }
  return { following, unseen, onScroll, scrollToBottom };
}
