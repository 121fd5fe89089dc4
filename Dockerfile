# Build stage: compile Herald in release mode. Dependencies are built in their own layer so
# that a change to src/ does not rebuild them.
FROM rust:1.95-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src target/release/deps/herald* target/release/.fingerprint/herald-*
COPY migrations ./migrations
COPY src ./src
RUN cargo build --release --locked

# Runtime stage: the binary, libpq (and through it every shared library the binary links,
# as `ldd` lists them) and CA certificates for https webhooks.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 herald \
    && mkdir -p /var/lib/herald && chown herald /var/lib/herald
COPY --from=build /app/target/release/herald /usr/local/bin/herald
USER herald
# Without DATABASE_URL the image keeps its SQLite file here (mount a volume to keep it).
WORKDIR /var/lib/herald
EXPOSE 8080
ENV LISTEN_ADDR=0.0.0.0:8080 LOG_FORMAT=json
ENTRYPOINT ["herald"]
CMD ["serve"]
