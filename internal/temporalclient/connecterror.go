package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
)

// Why a connection to Temporal failed, as ConnectError.Kind says it.
const (
	Unauthenticated = "unauthenticated"
	TLSHandshake    = "TLS handshake"
	Unreachable     = "unreachable"
	NamespaceAbsent = "namespace not found"
	OtherFailure    = "failed"
)

// ConnectError is a failure to connect to Temporal at startup, classified:
// its message is one line that starts with the address and the kind.
type ConnectError struct {
	Address, Namespace string
	// Kind is one of Unauthenticated, TLSHandshake, Unreachable,
	// NamespaceAbsent, OtherFailure.
	Kind string
	Err  error
}

func (e *ConnectError) Error() string {
	hint := map[string]string{
		Unauthenticated: "the server refused the credential (TEMPORAL_API_KEY or the profile's api_key, or the client certificate's identity)",
		TLSHandshake:    "check the client certificate and key, the server CA and name (TEMPORAL_TLS_*), or whether the server speaks TLS at all",
		Unreachable:     "no server answered there (connection refused or timed out); is the address right and the server up?",
		NamespaceAbsent: "create the namespace " + e.Namespace + " (or set TEMPORAL_NAMESPACE)",
	}[e.Kind]
	msg := fmt.Sprintf("temporal at %s: %s", e.Address, e.Kind)
	if hint != "" {
		msg += ": " + hint
	}
	detail := e.Err.Error()
	// A proxy's refusal carries its HTML page: keep the status line only.
	detail, _, _ = strings.Cut(detail, "; transport: received unexpected content-type")
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(msg + " (" + detail + ")")
}

func (e *ConnectError) Unwrap() error { return e.Err }

// classify turns an error of the first calls to Temporal into a
// ConnectError; withTLS says whether the client spoke TLS.
func classify(address, namespace string, withTLS bool, err error) *ConnectError {
	return &ConnectError{Address: address, Namespace: namespace, Kind: kind(err, withTLS), Err: err}
}

func kind(err error, withTLS bool) string {
	msg := strings.ToLower(err.Error())
	code := serviceerror.ToStatus(err).Code()
	switch {
	case code == codes.Unauthenticated || code == codes.PermissionDenied,
		strings.Contains(msg, "401 (unauthorized)"), strings.Contains(msg, "403 (forbidden)"):
		return Unauthenticated
	case tlsFailure(msg), withTLS && dropped(msg):
		return TLSHandshake
	case code == codes.NotFound && strings.Contains(msg, "namespace"):
		return NamespaceAbsent
	case code == codes.Unavailable || code == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded),
		strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"):
		return Unreachable
	}
	return OtherFailure
}

// dropped recognises a connection the server accepted and then closed: over
// TLS 1.3 a client learns that the server refused its certificate (or that
// it sent none) only when its first write or read fails so.
func dropped(msg string) bool {
	for _, s := range []string{"broken pipe", "connection reset", "eof"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// tlsFailure recognises a failed handshake in either direction: a
// certificate the client does not trust, one the server refuses (Go's TLS
// alerts; a TLS-terminating proxy such as nginx answers HTTP 400 instead),
// or TLS spoken to a plaintext server.
func tlsFailure(msg string) bool {
	for _, s := range []string{"x509:", "tls:", "handshake", "certificate", "400 (bad request)"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
