import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { useServices } from '../lib/use-services.ts';
import { Button } from './button.tsx';
import { ErrorMessage } from './error-message.tsx';
import { Loading } from './loading.tsx';

/** Shows `children` to a logged-in user; sends anyone else to /login and back here afterwards. */
export function RequireAuth({ children }: { children: ComponentChildren }) {
  const { session, router } = useServices();
  const status = session.status.value;
  const restoreError = session.restoreError.value;

  useEffect(() => {
    if (status !== 'anonymous') return;
    const { path, search } = router.location.peek();
    router.navigate(`/login?next=${encodeURIComponent(path + search)}`, { replace: true });
  }, [status, router]);

  if (status === 'authenticated') return <>{children}</>;
  if (status === 'restoring' && restoreError) {
    return (
      <ErrorMessage error={`Could not restore your session. ${restoreError.message}`}>
        <Button small onClick={() => void session.restore()}>
          Try again
        </Button>
      </ErrorMessage>
    );
  }
  return <Loading label={status === 'restoring' ? 'Restoring your session…' : 'Redirecting to log in…'} />;
}
