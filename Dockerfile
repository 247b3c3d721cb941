# Parley's container image: one statically linked binary on an empty base,
# running as a non-root user with its data in the /data volume.
#
#   podman build --format docker -t parley .     (or: docker build -t parley .)
#   podman run -p 8080:8080 -v parley-data:/data parley
#
# Where no registry is reachable, .ci/image builds it on this machine's own Go
# toolchain instead of the golang image (see the README).
ARG GO_IMAGE=docker.io/library/golang:1.26.8-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Modules first: this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The revision, since the sources come without their .git directory.
ARG REVISION=""
# cgo for SQLite, linked statically; netgo and osusergo keep glibc's NSS out,
# which a static binary could not load.
RUN CGO_ENABLED=1 go build -trimpath -tags 'netgo osusergo sqlite_omit_load_extension' \
      -ldflags "-s -w -linkmode external -extldflags -static -X github.com/parley-comments/parley/buildinfo.revision=${REVISION}" \
      -o /out/parley . \
 && mkdir -p /out/data

FROM scratch
ARG REVISION=""
LABEL org.opencontainers.image.title="Parley" \
      org.opencontainers.image.description="Self-hosted blog comments and moderation" \
      org.opencontainers.image.source="https://github.com/parley-comments/parley" \
      org.opencontainers.image.revision="${REVISION}"
# CA roots for outgoing TLS (SMTP, OpenID providers, webhooks).
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/parley /parley
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV PARLEY_ADDR=:8080 PARLEY_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/parley", "healthcheck"]
ENTRYPOINT ["/parley"]
