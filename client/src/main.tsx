import { render } from 'preact';
import { App } from './app.tsx';
import { ServicesProvider } from './components/services-provider.tsx';
import { createServices } from './lib/services.ts';
import './global.css';

const root = document.getElementById('app');
if (!root) throw new Error('index.html has no #app element');

// The root composes providers only; pages are lazy routes inside <App>.
render(
  <ServicesProvider services={createServices(window)}>
    <App />
  </ServicesProvider>,
  root,
);
