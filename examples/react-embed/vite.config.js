import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The amp runtime the page talks to. @amp-labs/react reads it from
// process.env.REACT_APP_AMP_SERVER, and compares it, as a string, with the
// origin of the OAuth popup's message: it must be a bare origin (scheme,
// host, port; no path, no trailing slash) spelled exactly as the runtime's
// public URL, or the connection never reaches the page.
function ampServer() {
  const raw = process.env.AMP_SERVER || 'http://127.0.0.1:8080';
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`AMP_SERVER=${raw} is not a URL`);
  }
  if (url.origin !== raw) {
    throw new Error(`AMP_SERVER=${raw} must be a bare origin such as ${url.origin}`);
  }
  return raw;
}

// The rest of the page's settings, fixed at build time like the server.
const settings = {
  apiKey: process.env.AMP_API_KEY || '',
  project: process.env.AMP_PROJECT || 'default',
  integration: process.env.AMP_INTEGRATION || 'salesforceSync',
  groupRef: process.env.AMP_GROUP_REF || 'acme',
};

export default defineConfig({
  plugins: [react()],
  // @amp-labs/react bundles its own dependencies into one chunk of about
  // 700 kB; splitting it buys a local example nothing.
  build: { chunkSizeWarningLimit: 1000 },
  define: {
    'process.env.REACT_APP_AMP_SERVER': JSON.stringify(ampServer()),
    __AMP_SETTINGS__: JSON.stringify(settings),
  },
});
