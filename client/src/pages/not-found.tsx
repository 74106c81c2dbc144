import { ButtonLink } from '../components/button.tsx';
import { useTitle } from '../lib/use-title.ts';
import styles from './stream-page.module.css';

export default function NotFoundPage() {
  useTitle('Not found');
  return (
    <div class={styles.page}>
      <h1>Page not found</h1>
      <p class={styles.description}>There is nothing at this address.</p>
      <div class={styles.links}>
        <ButtonLink variant="primary" href="/">
          Go to live streams
        </ButtonLink>
      </div>
    </div>
  );
}
