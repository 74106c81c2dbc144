import { useState } from 'preact/hooks';
import { describeError } from '../lib/api-error.ts';
import { useServices } from '../lib/use-services.ts';
import { Button, ButtonLink } from './button.tsx';
import styles from './header.module.css';

export function Header() {
  const { session, router } = useServices();
  const path = router.location.value.path;
  const user = session.user.value;
  const status = session.status.value;
  const [logoutError, setLogoutError] = useState<string | null>(null);
  const [loggingOut, setLoggingOut] = useState(false);

  async function logout() {
    setLoggingOut(true);
    setLogoutError(null);
    try {
      await session.logout();
    } catch (err) {
      setLogoutError(`You are logged out on this device, but the server could not be told: ${describeError(err)}`);
    } finally {
      setLoggingOut(false);
      router.navigate('/');
    }
  }

  const navLink = (href: string, label: string, active: boolean) => (
    <a href={href} class={styles.navLink} aria-current={active ? 'page' : undefined}>
      {label}
    </a>
  );

  return (
    <header class={styles.header}>
      <div class={styles.inner}>
        <a href="/" class={styles.logo} aria-label="Glint home">
          <span class={styles.mark} aria-hidden="true" />
          <span class={styles.logoText}>Glint</span>
        </a>
        <nav class={styles.nav} aria-label="Main">
          {navLink('/', 'Home', path === '/')}
          {navLink('/me/streams', 'My streams', path === '/me/streams')}
        </nav>
        <div class={styles.account}>
          {status === 'authenticated' && user ? (
            <>
              <a href={`/u/${user.id}`} class={styles.user} data-testid="current-user">
                <span class={styles.avatar} aria-hidden="true">
                  {(user.displayName || user.username).charAt(0).toUpperCase()}
                </span>
                <span class={styles.username}>{user.displayName || user.username}</span>
              </a>
              <Button small variant="ghost" onClick={logout} disabled={loggingOut}>
                Log out
              </Button>
            </>
          ) : status === 'anonymous' ? (
            <>
              <ButtonLink small variant="ghost" href="/login">
                Log in
              </ButtonLink>
              <ButtonLink small variant="primary" href="/register">
                Register
              </ButtonLink>
            </>
          ) : null}
        </div>
      </div>
      {logoutError ? (
        <div class={styles.banner} role="alert">
          <span>{logoutError}</span>
          <Button small variant="ghost" onClick={() => setLogoutError(null)}>
            Dismiss
          </Button>
        </div>
      ) : null}
    </header>
  );
}
