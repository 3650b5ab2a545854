import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { AmpersandProvider, InstallIntegration } from '@amp-labs/react';
import '@amp-labs/react/styles';

// Defined by vite.config.js from the environment at build time.
const built = __AMP_SETTINGS__;

// The page's address may override the credentials and the customer, so that
// one build can also show how the component fails: ?apiKey= another key,
// ?jwt= a JSON Web Token instead of any key (the library's getToken mode),
// ?groupRef= another customer. The browser test uses them. Anything put in
// an address stays in the browser's history: keep real keys out of it.
const query = new URLSearchParams(window.location.search);
const settings = {
  ...built,
  apiKey: query.get('apiKey') ?? built.apiKey,
  jwt: query.get('jwt') ?? '',
  groupRef: query.get('groupRef') ?? built.groupRef,
};

// A token wins over the key: the library refuses to be given both.
const providerOptions = settings.jwt
  ? { project: settings.project, getToken: async () => settings.jwt }
  : { project: settings.project, apiKey: settings.apiKey };

function App() {
  // What the component reported, newest last: shows a builder where the
  // callbacks fire, and gives the browser test something to wait for.
  const [events, setEvents] = useState([]);
  const report = (text) => setEvents((prev) => [...prev, text]);

  if (!settings.apiKey && !settings.jwt) {
    return <p>Set AMP_API_KEY (the runtime's admin-api-key) before building or starting this page.</p>;
  }
  return (
    <AmpersandProvider options={providerOptions}>
      <InstallIntegration
        integration={settings.integration}
        groupRef={settings.groupRef}
        groupName="Acme"
        consumerRef="user-1"
        consumerName="Ada"
        onInstallSuccess={(id) => report(`installed ${id}`)}
        onUpdateSuccess={(id) => report(`updated ${id}`)}
        onUninstallSuccess={(id) => report(`uninstalled ${id}`)}
      />
      <ol id="amp-events" aria-label="Installation events">
        {events.map((text, i) => (
          <li key={i}>{text}</li>
        ))}
      </ol>
    </AmpersandProvider>
  );
}

createRoot(document.getElementById('root')).render(<App />);
