import { Button } from '../components/button.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { TextField } from '../components/text-field.tsx';
import { useModel } from '../lib/use-model.ts';
import { useServices } from '../lib/use-services.ts';
import { useTitle } from '../lib/use-title.ts';
import { createForm, required } from '../state/form.ts';
import styles from './auth-page.module.css';
import { useRedirectWhenLoggedIn } from '../lib/use-redirect-when-logged-in.ts';

export default function LoginPage() {
  const { session, router } = useServices();
  useTitle('Log in');
  useRedirectWhenLoggedIn();
  const form = useModel(
    () =>
      createForm({
        initial: { login: '', password: '' },
        validate: required('login', 'password'),
        submit: async (values) => void (await session.login(values)),
      }),
    [session],
  );
  const values = form.values.value;
  const errors = form.fieldErrors.value;
  const busy = form.submitting.value;
  const search = router.location.value.search;

  return (
    <div class={styles.page}>
      <form
        class={styles.card}
        aria-labelledby="login-title"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void form.submit();
        }}
      >
        <h1 id="login-title">Log in</h1>
        <p class={styles.sub}>Welcome back. Your streams are waiting.</p>
        {session.endedReason.value && !form.formError.value ? (
          <ErrorMessage error={`You were logged out: ${session.endedReason.value}`} />
        ) : null}
        <ErrorMessage error={form.formError.value} />
        <TextField
          label="Username or email"
          name="login"
          value={values.login}
          onInput={(v) => form.set('login', v)}
          error={errors.login}
          autocomplete="username"
          disabled={busy}
          autoFocus
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          value={values.password}
          onInput={(v) => form.set('password', v)}
          error={errors.password}
          autocomplete="current-password"
          disabled={busy}
        />
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </Button>
        <p class={styles.switch}>
          New to Glint? <a href={`/register${search}`}>Create an account</a>
        </p>
      </form>
    </div>
  );
}
