import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Button } from '../components/button.tsx';
import { ErrorMessage, Notice } from '../components/error-message.tsx';
import { Loading } from '../components/loading.tsx';
import { MyStreamItem } from '../components/my-stream-item.tsx';
import { RequireAuth } from '../components/require-auth.tsx';
import { TextField } from '../components/text-field.tsx';
import { useModel } from '../lib/use-model.ts';
import { useServices } from '../lib/use-services.ts';
import { useTitle } from '../lib/use-title.ts';
import { createForm, required } from '../state/form.ts';
import { createMyStreams } from '../state/my-streams.ts';
import styles from './my-streams.module.css';

export default function MyStreamsPage() {
  useTitle('My streams');
  return (
    <RequireAuth>
      <MyStreams />
    </RequireAuth>
  );
}

function MyStreams() {
  const { api } = useServices();
  const mine = useModel(() => createMyStreams(api), [api]);
  const created = useSignal<string | null>(null);
  const form = useModel(
    () =>
      createForm({
        initial: { title: '', description: '' },
        validate: required('title'),
        submit: async ({ title, description }) => {
          const result = await mine.create(description.trim() ? { title, description } : { title });
          form.reset();
          created.value = result.stream.title;
        },
      }),
    [mine],
  );
  useEffect(() => {
    void mine.load();
  }, [mine]);

  const values = form.values.value;
  const errors = form.fieldErrors.value;
  const busy = form.submitting.value;
  const items = mine.items.value;

  return (
    <div class={styles.page}>
      <div class={styles.heading}>
        <h1>My streams</h1>
        <p class={styles.lead}>
          Publish with any WHIP encoder (OBS 30+, GStreamer, the Studio page): point it at the WHIP URL and use the
          stream key as the Bearer token.
        </p>
      </div>

      <div class={styles.layout}>
        <form
          class={styles.create}
          aria-labelledby="create-stream-title"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            created.value = null;
            void form.submit();
          }}
        >
          <h2 id="create-stream-title">New stream</h2>
          <ErrorMessage error={form.formError.value} />
          <TextField
            label="Title"
            name="title"
            value={values.title}
            onInput={(v) => form.set('title', v)}
            error={errors.title}
            maxLength={140}
            disabled={busy}
          />
          <TextField
            label="Description"
            name="description"
            value={values.description}
            onInput={(v) => form.set('description', v)}
            error={errors.description}
            multiline
            rows={4}
            maxLength={5000}
            hint="Optional. Shown on the watch page."
            disabled={busy}
          />
          <Button type="submit" variant="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create stream'}
          </Button>
          {created.value ? <Notice>Created “{created.value}”. Reveal its key below when you are ready.</Notice> : null}
        </form>

        <section class={styles.list} aria-label="Your streams">
          {mine.error.value ? (
            <ErrorMessage error={mine.error.value}>
              <Button small onClick={() => void mine.load()}>
                Try again
              </Button>
            </ErrorMessage>
          ) : null}
          {!mine.loaded.value ? (
            mine.error.value ? null : <Loading label="Loading your streams…" />
          ) : items.length === 0 ? (
            <div class={styles.empty} data-testid="my-streams-empty">
              <h2>No streams yet</h2>
              <p>Create your first stream with the form. You get a WHIP URL and a stream key for your encoder.</p>
            </div>
          ) : (
            items.map((stream) => <MyStreamItem key={stream.id} stream={stream} keyModel={mine.keyFor(stream.id)} />)
          )}
        </section>
      </div>
    </div>
  );
}
