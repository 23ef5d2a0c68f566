# syntax=docker/dockerfile:1
# One image for every production role: ordersaga worker | api | projector |
# payment-provider | setup | codec-server | ... It holds the slim build
# (no embedded Temporal server, Web UI or bench). For `dev` in a container,
# build the full one: docker build --build-arg BUILD_TAGS= .
FROM golang:1.26.8-bookworm AS build
ARG BUILD_TAGS=slim
ARG VERSION=devel
ARG COMMIT=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -tags "${BUILD_TAGS}" \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/ordersaga ./cmd/ordersaga

FROM alpine:3.20.3
RUN apk add --no-cache ca-certificates \
 && mkdir -p /var/lib/ordersaga \
 && chown 65534:65534 /var/lib/ordersaga
COPY --from=build /out/ordersaga /usr/local/bin/ordersaga
# dev's --data-dir (./.data) lands here, writable by the user below.
WORKDIR /var/lib/ordersaga
USER 65534:65534
# A role's readiness; the API's is on :8080 (override per service).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["ordersaga", "healthcheck", "http://127.0.0.1:9100/readyz"]
ENTRYPOINT ["ordersaga"]
CMD ["--help"]
