import type { ComponentChildren, JSX } from 'preact';
import styles from './button.module.css';

export type ButtonVariant = 'primary' | 'secondary' | 'danger' | 'ghost';

type ButtonProps = Omit<JSX.HTMLAttributes<HTMLButtonElement>, 'size'> & {
  variant?: ButtonVariant;
  small?: boolean;
  type?: 'button' | 'submit';
  disabled?: boolean;
  children: ComponentChildren;
};

export function Button({ variant = 'secondary', small = false, type = 'button', class: extra, ...rest }: ButtonProps) {
  const classes = [styles.button, styles[variant], small ? styles.small : '', extra ?? ''].filter(Boolean).join(' ');
  return <button type={type} class={classes} {...rest} />;
}

/** A link that looks like a button (for navigation, so it stays a real `<a>`). */
export function ButtonLink({
  variant = 'secondary',
  small = false,
  class: extra,
  ...rest
}: JSX.HTMLAttributes<HTMLAnchorElement> & { variant?: ButtonVariant; small?: boolean; href: string }) {
  const classes = [styles.button, styles[variant], small ? styles.small : '', extra ?? ''].filter(Boolean).join(' ');
  return <a class={classes} {...rest} />;
}
