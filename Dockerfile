# syntax=docker/dockerfile:1
# Taskforge API: compiled TypeScript on Node 22, production dependencies only, running as "node".
#   docker build -t taskforge .        docker compose up (see README "Docker")
# The "test" stage holds the sources, the tests and every dependency:
#   docker compose --profile test run --rm test

ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# argon2 and sqlite3 are N-API addons: one build loads on every Node version. Prebuilt binaries
# cover linux x64/arm64 on glibc; the compiler toolchain is the fallback (other platforms, no
# network to the prebuilds) and stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
# The web client, built by `npm run build` into dist/web beside the service.
COPY web ./web
# An sqlite3 compiled here (no prebuilt binary for the platform) leaves SQLite's sources and its
# object files beside the addon, which the runtime never reads.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && cd node_modules/sqlite3 \
 && rm -rf deps src build/Release/obj build/Release/obj.target build/Release/.deps build/Release/*.a

FROM node:${NODE_VERSION}-bookworm-slim AS test
WORKDIR /app
# The build stage's first steps word for word (so their layers are shared): the toolchain is the
# native addons' fallback build.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# As "node", like the runtime: a test that only passes as root would hide a permission problem.
RUN chown node:node /app
USER node
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY --chown=node:node tsconfig.json vitest.config.ts knexfile.ts .env.example Dockerfile docker-compose.yml .dockerignore ./
COPY --chown=node:node src ./src
COPY --chown=node:node migrations ./migrations
COPY --chown=node:node scripts ./scripts
COPY --chown=node:node tests ./tests
# Creates the database TEST_DATABASE_URL names when the server lacks it, then runs the command.
ENTRYPOINT ["node", "--import", "tsx", "scripts/support/ensure-test-database.ts"]
CMD ["npx", "vitest", "run"]

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The only writable place: the default SQLite file lives here when DATABASE_URL is not set.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
VOLUME ["/app/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 and handles SIGTERM (graceful shutdown in main.ts); no npm wrapper in between.
CMD ["node", "dist/src/infrastructure/main.js"]
