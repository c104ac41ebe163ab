#!/usr/bin/env bash
# Installs what chatgraph needs on a Debian bookworm machine, and only what is missing:
#   - PostgreSQL 15 server binaries and server headers (Debian packages);
#   - pgvector 0.8, which bookworm does not package: built from Debian's trixie *source*
#     package against PostgreSQL 15;
#   - diesel_cli (postgres only), used by the test that checks src/db/schema.rs;
#   - GraphiQL and React (pinned versions, from the npm registry) under vendor/graphiql, so the
#     GraphiQL page works without a CDN; without npm the page falls back to the CDN;
#   - headless Chromium (Debian package), which the tests drive to use GraphiQL as a person does;
#   - poppler-utils (Debian package): `pdftotext`, run as a separate process to read PDFs.
# A second run does nothing. Needs root (or sudo) only when something is missing.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
PG_CONFIG="$PG_BIN/pg_config"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
log() { echo "setup: $*"; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

# 1. PostgreSQL 15 server and headers (and Chromium for the browser test, pdftotext for PDFs).
missing=()
[ -x "$PG_BIN/postgres" ] || missing+=(postgresql-15)
[ -f /usr/include/postgresql/15/server/postgres.h ] || missing+=(postgresql-server-dev-15)
command -v make >/dev/null || missing+=(make)
command -v gcc >/dev/null || missing+=(gcc)
command -v dpkg-source >/dev/null || missing+=(dpkg-dev)
[ -f /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

# 2. pgvector >= 0.8 for PostgreSQL 15.
ext_dir="$("$PG_CONFIG" --sharedir)/extension"
have_vector() {
  [ -f "$("$PG_CONFIG" --pkglibdir)/vector.so" ] &&
    grep -Eq "default_version = '0\.([89]|[1-9][0-9])" "$ext_dir/vector.control" 2>/dev/null
}
if ! have_vector; then
  log "building pgvector from Debian's trixie source package"
  src_list=/etc/apt/sources.list.d/chatgraph-trixie-src.sources
  if [ ! -f "$src_list" ]; then
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      $SUDO tee "$src_list" >/dev/null
    apt_updated=""
  fi
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  chmod 777 "$work"
  (cd "$work" && apt-get source -qq pgvector >/dev/null)
  srcdir="$(find "$work" -maxdepth 1 -mindepth 1 -type d -name 'pgvector-*' | head -n1)"
  make -s -C "$srcdir" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >/dev/null
  $SUDO make -s -C "$srcdir" PG_CONFIG="$PG_CONFIG" install >/dev/null
  have_vector || { log "pgvector did not install"; exit 1; }
  log "pgvector $(grep default_version "$ext_dir/vector.control" | cut -d"'" -f2) installed"
fi

# 3. diesel_cli, for the schema.rs drift check.
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v diesel >/dev/null; then
  log "installing diesel_cli (postgres only)"
  cargo install --locked diesel_cli --version '^2.3' --no-default-features --features postgres
fi
# 4. GraphiQL assets, served by chatgraph from vendor/graphiql when present.
cd "$(dirname "$0")/.."
assets=vendor/graphiql
wanted="graphiql@3.8.3 react@18.3.1 react-dom@18.3.1 graphql-ws@5.16.0"
if [ "$(cat "$assets/VERSIONS" 2>/dev/null)" != "$wanted" ]; then
  if command -v npm >/dev/null; then
    log "fetching $wanted"
    packs="$(mktemp -d)"
    (cd "$packs" && npm pack --silent $wanted >/dev/null)
    rm -rf "$assets" && mkdir -p "$assets"
    tar -xzf "$packs"/graphiql-*.tgz -C "$packs" package/graphiql.min.js package/graphiql.min.css
    mv "$packs"/package/graphiql.min.js "$packs"/package/graphiql.min.css "$assets"/
    tar -xzf "$packs"/react-1*.tgz -C "$packs" package/umd/react.production.min.js
    tar -xzf "$packs"/react-dom-*.tgz -C "$packs" package/umd/react-dom.production.min.js
    tar -xzf "$packs"/graphql-ws-*.tgz -C "$packs" package/umd/graphql-ws.min.js
    mv "$packs"/package/umd/*.js "$assets"/
    rm -rf "$packs"
    echo "$wanted" > "$assets/VERSIONS"
  else
    log "npm not found: the GraphiQL page will load its scripts from a CDN"
  fi
fi
log "ready"
