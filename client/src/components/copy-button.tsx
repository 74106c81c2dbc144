import { useEffect, useRef, useState } from 'preact/hooks';
import { Button } from './button.tsx';

type CopyState = 'idle' | 'copying' | 'copied' | 'failed';

interface CopyButtonProps {
  /** The text, or a function that fetches it (e.g. a stream key that is not shown). */
  text: string | (() => Promise<string | null>);
  /** Accessible name, e.g. "Copy WHIP URL". */
  label: string;
  testId?: string;
}

/** Copies to the clipboard and says so ("Copied") for a moment. */
export function CopyButton({ text, label, testId }: CopyButtonProps) {
  const [state, setState] = useState<CopyState>('idle');
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);

  async function copy() {
    setState('copying');
    let ok = false;
    try {
      const value = typeof text === 'string' ? text : await text();
      ok = value !== null && (await writeClipboard(value));
    } catch {
      ok = false;
    }
    setState(ok ? 'copied' : 'failed');
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => setState('idle'), 2000);
  }

  const caption = state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy';
  return (
    <Button small aria-label={label} title={label} onClick={copy} disabled={state === 'copying'} data-testid={testId}>
      <span aria-live="polite">{caption}</span>
    </Button>
  );
}

async function writeClipboard(value: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(value);
      return true;
    }
  } catch {
    // Denied or not a secure context: fall back below.
  }
  const area = document.createElement('textarea');
  area.value = value;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
  }
}
