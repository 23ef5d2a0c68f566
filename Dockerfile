# One image for every role: ordersaga worker | api | payment-provider | dev
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/ordersaga ./cmd/ordersaga

FROM alpine:3.20.3
COPY --from=build /out/ordersaga /usr/local/bin/ordersaga
USER 65534:65534
ENTRYPOINT ["ordersaga"]
