# Two images from one build:
#   target `app` (the default): every roomcast service; pick one with the command, e.g.
#     docker run roomcast node dist/apps/gateway/src/main.js
#   target `web`: nginx with the web client; docker-compose.yml mounts nginx/nginx.conf into it.
# Node 24 (active LTS): see the README's "Supported runtimes".
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly the lock file (it lists every platform's native bindings: scripts/lock-platform-bindings.js).
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
COPY web web
RUN npm run build && npm run build:web && npm prune --omit=dev

FROM nginx:1.27-alpine AS web
COPY --from=build /app/dist/web /usr/share/nginx/html

FROM node:24-bookworm-slim AS app
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# The example room rules (ROOM_RULES=examples/room-rules.yaml), or mount your own file.
COPY examples examples
USER node
CMD ["node", "dist/apps/gateway/src/main.js"]
