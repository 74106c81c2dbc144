import { describe, expect, it } from 'vitest';
import { ApiError } from '../lib/api-error.ts';
import { createForm, required } from './form.ts';

describe('form', () => {
  it('puts each validation detail next to its field', async () => {
    const form = createForm({
      initial: { username: 'ada', email: 'nope', password: 'x' },
      submit: async () => {
        throw new ApiError('VALIDATION_FAILED', 'The request is invalid.', {
          status: 400,
          details: [
            { path: 'email', message: 'must be an email address' },
            { path: 'password', message: 'is required' },
          ],
        });
      },
    });

    expect(await form.submit()).toBe(false);

    expect(form.fieldErrors.value).toEqual({ email: 'must be an email address', password: 'is required' });
    expect(form.formError.value).toBe('Please correct the highlighted fields.');
    expect(form.submitting.value).toBe(false);
  });

  it('places codes that belong to one field, and shows other errors on top', async () => {
    let answer: ApiError = new ApiError('USERNAME_TAKEN', 'This username is taken.', { status: 409 });
    const form = createForm({
      initial: { username: 'ada', password: 'pw' },
      fieldForCode: { USERNAME_TAKEN: 'username' },
      submit: async () => {
        throw answer;
      },
    });

    await form.submit();
    expect(form.fieldErrors.value).toEqual({ username: 'This username is taken.' });
    expect(form.formError.value).toBeNull();

    answer = new ApiError('TOO_MANY_ATTEMPTS', 'Too many failed logins.', { status: 429, retryAfterSeconds: 30 });
    await form.submit();
    expect(form.fieldErrors.value).toEqual({});
    expect(form.formError.value).toBe('Too many failed logins. Try again in 30 s.');
  });

  it('is submitting while the request runs, and refuses a second submit meanwhile', async () => {
    let release!: () => void;
    let calls = 0;
    const form = createForm({
      initial: { title: 'Hello' },
      submit: () => {
        calls += 1;
        return new Promise<void>((resolve) => (release = resolve));
      },
    });

    const first = form.submit();
    expect(form.submitting.value).toBe(true);
    expect(await form.submit()).toBe(false);
    release();
    expect(await first).toBe(true);
    expect(form.submitting.value).toBe(false);
    expect(calls).toBe(1);
  });

  it('checks required fields before asking the server', async () => {
    let calls = 0;
    const form = createForm({
      initial: { title: '  ', description: '' },
      validate: required('title'),
      submit: async () => void (calls += 1),
    });
    expect(await form.submit()).toBe(false);
    expect(form.fieldErrors.value).toEqual({ title: 'is required' });
    expect(calls).toBe(0);
    form.set('title', 'Now');
    expect(form.fieldErrors.value).toEqual({});
  });
});
