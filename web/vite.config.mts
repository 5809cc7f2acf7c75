// The web client's build: `npm run build:web` bundles web/ (the @roomcast/client SDK from its
// source, and socket.io-client, included) into dist/web, which nginx serves at `/`.
// `npx vite --config web/vite.config.mts` serves it with hot reload, proxying Socket.IO and
// /stats to the `npm start` cluster.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  // Relative asset URLs: the page works wherever it is served from (nginx, a gateway).
  base: './',
  resolve: {
    // Event names and payload types come from the contracts lib itself, file by file, so the
    // bundle does not pull in the server-side DTOs (class-validator).
    alias: [
      { find: /^@roomcast\/contracts\/(.*)$/, replacement: here('../libs/contracts/src/$1') },
      // The SDK from its source (not its built dist): one build, and the page runs what is tested.
      { find: /^@roomcast\/client$/, replacement: here('../libs/client/src/index.ts') },
    ],
  },
  build: { outDir: here('../dist/web'), emptyOutDir: true, target: 'es2022' },
  server: {
    proxy: {
      '/socket.io': { target: 'http://127.0.0.1:3001', ws: true },
      '/stats': 'http://127.0.0.1:3000',
    },
  },
});
