import { useEffect, useRef } from 'preact/hooks';

/**
 * Runs `onHide` on `pagehide` (tab closed, navigated away, put in the back/forward cache)
 * and `onShow` when the page comes back from that cache.
 */
export function usePageHide(onHide: () => void, onShow?: () => void): void {
  const handlers = useRef({ onHide, onShow });
  handlers.current = { onHide, onShow };
  useEffect(() => {
    const hide = () => handlers.current.onHide();
    const show = (event: PageTransitionEvent) => {
      if (event.persisted) handlers.current.onShow?.();
    };
    window.addEventListener('pagehide', hide);
    window.addEventListener('pageshow', show);
    return () => {
      window.removeEventListener('pagehide', hide);
      window.removeEventListener('pageshow', show);
    };
  }, []);
}
