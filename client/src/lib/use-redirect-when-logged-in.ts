import { useEffect } from 'preact/hooks';
import { safeNext } from './router.ts';
import { useServices } from './use-services.ts';

/** On /login and /register: once a user is logged in, go on to `?next=` or "My streams". */
export function useRedirectWhenLoggedIn(): void {
  const { session, router } = useServices();
  const loggedIn = session.isLoggedIn.value;
  useEffect(() => {
    if (loggedIn) router.navigate(safeNext(router.location.peek().search, '/me/streams'), { replace: true });
  }, [loggedIn, router]);
}
