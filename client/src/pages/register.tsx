import { Button } from '../components/button.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { TextField } from '../components/text-field.tsx';
import { useModel } from '../lib/use-model.ts';
import { useServices } from '../lib/use-services.ts';
import { useTitle } from '../lib/use-title.ts';
import { createForm, required } from '../state/form.ts';
import styles from './auth-page.module.css';
import { useRedirectWhenLoggedIn } from '../lib/use-redirect-when-logged-in.ts';

export default function RegisterPage() {
  const { session, router } = useServices();
  useTitle('Create an account');
  useRedirectWhenLoggedIn();
  const form = useModel(
    () =>
      createForm({
        initial: { username: '', email: '', password: '' },
        validate: required('username', 'email', 'password'),
        fieldForCode: { USERNAME_TAKEN: 'username', EMAIL_TAKEN: 'email', WEAK_PASSWORD: 'password' },
        submit: async (values) => void (await session.register(values)),
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
        aria-labelledby="register-title"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void form.submit();
        }}
      >
        <h1 id="register-title">Create an account</h1>
        <p class={styles.sub}>Stream with sub-second latency and chat with your viewers.</p>
        <ErrorMessage error={form.formError.value} />
        <TextField
          label="Username"
          name="username"
          value={values.username}
          onInput={(v) => form.set('username', v)}
          error={errors.username}
          hint="3–32 letters, digits or underscores."
          autocomplete="username"
          maxLength={32}
          disabled={busy}
          autoFocus
        />
        <TextField
          label="Email"
          name="email"
          type="email"
          value={values.email}
          onInput={(v) => form.set('email', v)}
          error={errors.email}
          autocomplete="email"
          disabled={busy}
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          value={values.password}
          onInput={(v) => form.set('password', v)}
          error={errors.password}
          hint="At least 10 characters, not a common password, not containing your username or email."
          autocomplete="new-password"
          disabled={busy}
        />
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? 'Creating account…' : 'Create account'}
        </Button>
        <p class={styles.switch}>
          Already have an account? <a href={`/login${search}`}>Log in</a>
        </p>
      </form>
    </div>
  );
}
