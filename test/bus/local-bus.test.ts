import { pino } from 'pino';
import { LocalBus, LocalHub } from '../../server/bus/local-bus.ts';
import { describeBus } from './bus.case.ts';

describeBus('LocalBus', async (n) => {
  const hub = new LocalHub();
  return Array.from({ length: n }, () => new LocalBus(pino({ level: 'silent' }), hub));
});
