import { useEffect } from 'preact/hooks';
import type { Me, PublicProfile, UpdateMeBody } from '../../../protocol/api.ts';
import { asUserId } from '../../../protocol/ids.ts';
import { Button } from '../components/button.tsx';
import { ErrorMessage, Notice } from '../components/error-message.tsx';
import { Loading } from '../components/loading.tsx';
import { TextField } from '../components/text-field.tsx';
import { formatDate } from '../lib/format.ts';
import { useModel } from '../lib/use-model.ts';
import { useServices } from '../lib/use-services.ts';
import { useTitle } from '../lib/use-title.ts';
import { createForm } from '../state/form.ts';
import { createResource } from '../state/resource.ts';
import { useSignal } from '@preact/signals';
import styles from './profile.module.css';

export default function ProfilePage({ params }: { params: Record<string, string> }) {
  const { api, session } = useServices();
  const userId = asUserId(params.id ?? '');
  const profile = useModel(() => createResource(() => api.profile(userId).then((r) => r.profile)), [api, userId]);
  useEffect(() => {
    void profile.load();
  }, [profile]);

  const data = profile.data.value;
  const me = session.user.value;
  const isMine = me !== null && me.id === userId;
  useTitle(data ? data.displayName || data.username : 'Profile');

  if (profile.error.value && !data) {
    return (
      <div class={styles.page}>
        <ErrorMessage error={profile.error.value} />
      </div>
    );
  }
  if (!data) return <Loading label="Loading profile…" />;

  // Your own profile shows what you just saved, even before the public one reloads.
  const shown: PublicProfile = isMine ? { ...data, displayName: me.displayName, bio: me.bio } : data;
  return (
    <div class={styles.page}>
      <section class={styles.card}>
        <div class={styles.avatar} aria-hidden="true">
          {(shown.displayName || shown.username).charAt(0).toUpperCase()}
        </div>
        <div class={styles.who}>
          <h1 data-testid="profile-name">{shown.displayName || shown.username}</h1>
          <p class={styles.handle}>@{shown.username}</p>
          <p class={styles.since}>Joined {formatDate(shown.createdAt)}</p>
          {shown.bio ? <p class={styles.bio}>{shown.bio}</p> : <p class={styles.noBio}>No bio yet.</p>}
        </div>
      </section>
      {isMine ? <EditProfile me={me} /> : null}
    </div>
  );
}

function EditProfile({ me }: { me: Me }) {
  const { api, session } = useServices();
  const saved = useSignal(false);
  const form = useModel(
    () =>
      createForm({
        initial: { displayName: me.displayName, bio: me.bio, email: me.email },
        fieldForCode: { EMAIL_TAKEN: 'email' },
        submit: async (values) => {
          // Only what changed: the body is strict and every field is optional.
          const current = session.user.peek() ?? me;
          const body: UpdateMeBody = {};
          if (values.displayName !== current.displayName) body.displayName = values.displayName;
          if (values.bio !== current.bio) body.bio = values.bio;
          if (values.email !== current.email) body.email = values.email;
          if (Object.keys(body).length > 0) {
            const { user } = await api.updateMe(body);
            session.updateUser(user);
          }
          saved.value = true;
        },
      }),
    [me.id],
  );
  const values = form.values.value;
  const errors = form.fieldErrors.value;
  const busy = form.submitting.value;

  function edit(name: 'displayName' | 'bio' | 'email', value: string) {
    saved.value = false;
    form.set(name, value);
  }

  return (
    <form
      class={styles.edit}
      aria-labelledby="edit-profile-title"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        saved.value = false;
        void form.submit();
      }}
    >
      <h2 id="edit-profile-title">Edit profile</h2>
      <ErrorMessage error={form.formError.value} />
      <TextField
        label="Display name"
        name="displayName"
        value={values.displayName}
        onInput={(v) => edit('displayName', v)}
        error={errors.displayName}
        maxLength={64}
        disabled={busy}
      />
      <TextField
        label="Bio"
        name="bio"
        value={values.bio}
        onInput={(v) => edit('bio', v)}
        error={errors.bio}
        multiline
        rows={4}
        maxLength={1000}
        disabled={busy}
      />
      <TextField
        label="Email"
        name="email"
        type="email"
        value={values.email}
        onInput={(v) => edit('email', v)}
        error={errors.email}
        hint="Only you can see this."
        autocomplete="email"
        disabled={busy}
      />
      <div class={styles.actions}>
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save changes'}
        </Button>
        {saved.value ? <Notice>Saved.</Notice> : null}
      </div>
    </form>
  );
}
