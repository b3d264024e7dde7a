# syntax=docker/dockerfile:1
# Build: compile the TypeScript and the browser client, then keep production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` builds a checkout, and the sources are not copied yet
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY router ./router
COPY relay ./relay
COPY shared ./shared
COPY client ./client
RUN npm run build && npm prune --omit=dev

# Runtime: the compiled service, its production dependencies and the client bundle; non-root.
FROM node:20-bookworm-slim
# The admin routes (/healthz, /readyz, /metrics) listen apart from the public port; publish 9090
# only to your monitoring network. With no TOKEN_SECRET, `start` serves its demo and reaches
# nothing but the demo's own echo: no image default is an open proxy.
ENV NODE_ENV=production PORT=8080 BIND=0.0.0.0 ADMIN_PORT=9090 ADMIN_BIND=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/client/dist ./client/dist
# TLS: mount a certificate (e.g. -v ./certs:/certs:ro) and set TLS_CERT_FILE=/certs/fullchain.pem,
# TLS_KEY_FILE=/certs/privkey.pem, and TLS_PROFILE=legacy for IE 7-10 (docs/DEPLOY.md); `kill -HUP` reloads them.
USER node
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.ADMIN_PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/bin/polysocket.js"]
CMD ["start"]
