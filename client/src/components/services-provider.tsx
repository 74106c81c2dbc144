import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import type { Services } from '../lib/services.ts';
import { ServicesContext } from '../lib/use-services.ts';

/** Makes the services available to every component and starts what they need at load. */
export function ServicesProvider({ services, children }: { services: Services; children: ComponentChildren }) {
  useEffect(() => {
    const stopRouter = services.router.start(document);
    void services.session.restore();
    return () => {
      stopRouter();
      services.session.close();
    };
  }, [services]);
  return <ServicesContext.Provider value={services}>{children}</ServicesContext.Provider>;
}
