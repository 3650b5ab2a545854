import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { AmpersandProvider, InstallIntegration } from '@amp-labs/react';
import '@amp-labs/react/styles';

// Defined by vite.config.js from the environment at build time.
const settings = __AMP_SETTINGS__;

function App() {
  // What the component reported, newest last: shows a builder where the
  // callbacks fire, and gives the browser test something to wait for.
  const [events, setEvents] = useState([]);
  const report = (text) => setEvents((prev) => [...prev, text]);

  if (!settings.apiKey) {
    return <p>Set AMP_API_KEY (the runtime's admin-api-key) before building or starting this page.</p>;
  }
  return (
    <AmpersandProvider options={{ project: settings.project, apiKey: settings.apiKey }}>
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
