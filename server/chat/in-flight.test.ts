import { expect, it } from 'vitest';
import { InFlight } from './in-flight.ts';

it('shares a load among concurrent callers and keeps nothing once it settles, success or failure', async () => {
  const loads = new InFlight<number>();
  let calls = 0;
  const load = (v: number) => () => {
    calls++;
    return new Promise<number>((r) => setTimeout(() => r(v), 10));
  };
  expect(await Promise.all([loads.get('a', load(1)), loads.get('a', load(2)), loads.get('b', load(3))])).toEqual([1, 1, 3]);
  expect(calls).toBe(2);
  expect(await loads.get('a', load(4))).toBe(4);
  const failing = () => {
    calls++;
    return Promise.reject(new Error('down'));
  };
  await expect(Promise.all([loads.get('c', failing), loads.get('c', failing)])).rejects.toThrow('down');
  expect(calls).toBe(4);
  expect(await loads.get('c', load(5))).toBe(5);
});
