import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

const contractsDir = fileURLToPath(new URL('../src/contracts', import.meta.url));

/**
 * In `npm run dev` there is no deployment to write config.json: answer it from ABALONE_API_URL
 * (e.g. a local server). Builds never contain a config.json, so they cannot shadow the deployed one.
 */
function devConfig(): Plugin {
  return {
    name: 'abalone-dev-config',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use('/config.json', (_req, res, next) => {
        const apiUrl = process.env.ABALONE_API_URL;
        if (!apiUrl) return next();
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ apiUrl, feedback: process.env.ABALONE_FEEDBACK === 'true' }));
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), devConfig()],
  // Relative asset URLs: the same bundle works at a site root or under a path prefix.
  base: './',
  server: {
    // The contract lives in the library's source, outside this package.
    fs: { allow: ['.', contractsDir] },
  },
  build: {
    outDir: '../assets/webapp',
    emptyOutDir: true,
    target: 'es2022',
    // One entry chunk: the polyfill would only add bytes.
    modulePreload: { polyfill: false },
    // Keep every asset a file so a strict CSP (no data: scripts/styles) holds.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.{ts,tsx}'],
    setupFiles: ['tests/setup.ts'],
    restoreMocks: true,
  },
});
