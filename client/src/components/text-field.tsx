import { useId } from 'preact/hooks';
import styles from './text-field.module.css';

interface TextFieldProps {
  label: string;
  name: string;
  value: string;
  onInput: (value: string) => void;
  error?: string | undefined;
  hint?: string;
  type?: 'text' | 'email' | 'password';
  autocomplete?: string;
  multiline?: boolean;
  rows?: number;
  maxLength?: number;
  required?: boolean;
  disabled?: boolean;
  autoFocus?: boolean;
}

/** A labelled input with its hint and its error (from the API's `details`) underneath. */
export function TextField(props: TextFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [props.error ? errorId : '', props.hint ? hintId : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: props.name,
    value: props.value,
    class: `${styles.input} ${props.error ? styles.invalid : ''}`,
    'aria-invalid': props.error ? true : undefined,
    'aria-describedby': describedBy,
    required: props.required,
    disabled: props.disabled,
    maxLength: props.maxLength,
    autoFocus: props.autoFocus,
    onInput: (event: Event) => props.onInput((event.currentTarget as HTMLInputElement | HTMLTextAreaElement).value),
  };
  return (
    <div class={styles.field}>
      <label class={styles.label} for={id}>
        {props.label}
      </label>
      {props.multiline ? (
        <textarea {...common} rows={props.rows ?? 3} />
      ) : (
        <input {...common} type={props.type ?? 'text'} autocomplete={props.autocomplete} />
      )}
      {props.error ? (
        <p class={styles.error} id={errorId} data-testid={`error-${props.name}`}>
          {capitalise(props.error)}
        </p>
      ) : null}
      {props.hint ? (
        <p class={styles.hint} id={hintId}>
          {props.hint}
        </p>
      ) : null}
    </div>
  );
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
