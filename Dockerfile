# chatgraph container image: build with the Rust toolchain, run as a non-root user on a slim
# Debian. Migrations are embedded in the binary and applied at start. The image has no
# PostgreSQL of its own: set DATABASE_URL to a server with pgvector (see docker-compose.yml).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock diesel.toml build.rs ./
COPY migrations ./migrations
COPY src ./src
RUN cargo build --release --locked --bin chatgraph

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates poppler-utils \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin chatgraph \
    && install -d -o chatgraph -g chatgraph -m 0700 /var/lib/chatgraph
COPY --from=build /src/target/release/chatgraph /usr/local/bin/chatgraph
USER chatgraph
# Without CHATGRAPH_JWT_SECRET / CHATGRAPH_ENCRYPTION_KEY, development secrets are generated
# in the data directory: mount a volume there, or better, set both in production.
ENV CHATGRAPH_LISTEN=0.0.0.0:8080 \
    CHATGRAPH_DATA_DIR=/var/lib/chatgraph \
    CHATGRAPH_LOG_FORMAT=json \
    RUST_LOG=info
EXPOSE 8080
ENTRYPOINT ["chatgraph"]
CMD ["serve"]
