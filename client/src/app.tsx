import type { ComponentType } from 'preact';
import { Suspense, lazy } from 'preact/compat';
import { Header } from './components/header.tsx';
import { Loading } from './components/loading.tsx';
import { matchPath } from './lib/router.ts';
import { useServices } from './lib/use-services.ts';
import styles from './app.module.css';

type PageProps = { params: Record<string, string> };

/**
 * Client routes. None may start with an API path (`/auth`, `/users`, `/streams`, ...; see
 * lib/api-paths.ts): the server answers those itself and serves index.html for the rest.
 */
const routes: { pattern: string; page: ComponentType<PageProps> }[] = [
  { pattern: '/', page: lazy(() => import('./pages/home.tsx')) },
  { pattern: '/login', page: lazy(() => import('./pages/login.tsx')) },
  { pattern: '/register', page: lazy(() => import('./pages/register.tsx')) },
  { pattern: '/u/:id', page: lazy(() => import('./pages/profile.tsx')) },
  { pattern: '/me/streams', page: lazy(() => import('./pages/my-streams.tsx')) },
  { pattern: '/watch/:id', page: lazy(() => import('./pages/watch.tsx')) },
  { pattern: '/studio/:id', page: lazy(() => import('./pages/studio.tsx')) },
];
const NotFound = lazy(() => import('./pages/not-found.tsx'));

export function App() {
  const { router } = useServices();
  const { path } = router.location.value;

  let Page: ComponentType<PageProps> = NotFound;
  let params: Record<string, string> = {};
  for (const route of routes) {
    const match = matchPath(route.pattern, path);
    if (match) {
      Page = route.page;
      params = match;
      break;
    }
  }

  return (
    <div class={styles.shell}>
      <a href="#main" class={styles.skip} data-native>
        Skip to content
      </a>
      <Header />
      <main id="main" class={styles.main}>
        <Suspense fallback={<Loading />}>
          <Page key={path} params={params} />
        </Suspense>
      </main>
      <footer class={styles.footer}>
        <span>Glint · open-source live streaming</span>
      </footer>
    </div>
  );
}
