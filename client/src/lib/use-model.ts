import { useEffect, useMemo } from 'preact/hooks';

/**
 * Creates a state model for the lifetime of a component (or until `deps` change) and
 * calls its `close()`, if it has one, afterwards, so timers and pending loads end with
 * the page that started them.
 */
export function useModel<M extends object>(factory: () => M, deps: unknown[]): M {
  const model = useMemo(factory, deps);
  useEffect(() => () => (model as { close?: () => void }).close?.(), [model]);
  return model;
}
