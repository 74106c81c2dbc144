import { useEffect } from 'preact/hooks';

/** Sets the document title while the page is shown. */
export function useTitle(title: string | null | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · Glint` : 'Glint';
  }, [title]);
}
