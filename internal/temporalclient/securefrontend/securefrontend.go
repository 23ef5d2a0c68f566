// Package securefrontend is a secured Temporal frontend for tests: a gRPC
// proxy in front of a plaintext Temporal frontend (such as the embedded
// server's) that terminates TLS, requires a client certificate signed by
// its CA, checks an `authorization: Bearer <key>` header on every call and
// refuses the OperatorService to keys without operator rights, as a
// secured cluster or Temporal Cloud does. It answers a missing or unknown
// key with Unauthenticated and a refused call with PermissionDenied.
package securefrontend

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Config configures a Frontend.
type Config struct {
	// Backend is the plaintext Temporal frontend (host:port).
	Backend string
	// CA signs the frontend's certificate and the client certificates it
	// accepts.
	CA *Authority
	// WorkerKeys may call everything but the OperatorService;
	// OperatorKeys may call everything.
	WorkerKeys, OperatorKeys []string
}

// Frontend is a running secured frontend.
type Frontend struct {
	cfg  Config
	srv  *grpc.Server
	cc   *grpc.ClientConn
	addr string

	mu    sync.Mutex
	calls map[string]int // "<key kind> <method>" → calls forwarded or refused
}

// operatorService is the prefix of the OperatorService's methods.
const operatorService = "/temporal.api.operatorservice.v1.OperatorService/"

// Start listens on a free loopback port.
func Start(cfg Config) (*Frontend, error) {
	server, err := cfg.CA.Issue(ServerName, true)
	if err != nil {
		return nil, err
	}
	cert, err := server.TLS()
	if err != nil {
		return nil, err
	}
	cc, err := grpc.NewClient(cfg.Backend, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cc.Close()
		return nil, err
	}
	f := &Frontend{cfg: cfg, cc: cc, addr: ln.Addr().String(), calls: map[string]int{}}
	f.srv = grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{
			Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: cfg.CA.Pool(),
		})),
		grpc.ForceServerCodecV2(rawCodec{}),
		grpc.UnknownServiceHandler(f.forward),
	)
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// Addr is the frontend's host:port.
func (f *Frontend) Addr() string { return f.addr }

// Close stops the frontend.
func (f *Frontend) Close() {
	f.srv.Stop()
	f.cc.Close()
}

// Calls returns how many calls of method (e.g. an OperatorService prefix
// match when method ends with "/") callers of kind ("worker", "operator",
// "unknown") made, forwarded or refused.
func (f *Frontend) Calls(kind, method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, c := range f.calls {
		if strings.HasPrefix(k, kind+" "+method) {
			n += c
		}
	}
	return n
}

// OperatorService is the method prefix to pass to Calls.
const OperatorService = operatorService

// forward checks the caller's key and relays one unary call to the backend.
func (f *Frontend) forward(_ any, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	md, _ := metadata.FromIncomingContext(ss.Context())
	kind := f.keyKind(md.Get("authorization"))
	f.mu.Lock()
	f.calls[kind+" "+method]++
	f.mu.Unlock()
	switch {
	case kind == "unknown":
		return status.Error(codes.Unauthenticated, "missing or unknown API key")
	case kind == "worker" && strings.HasPrefix(method, operatorService):
		return status.Errorf(codes.PermissionDenied, "%s needs operator rights", method)
	}
	var req []byte
	if err := ss.RecvMsg(&req); err != nil {
		return err
	}
	out := metadata.MD{}
	for k, v := range md {
		if !reserved(k) && k != "authorization" {
			out[k] = v
		}
	}
	var resp []byte
	var header, trailer metadata.MD
	err := f.cc.Invoke(metadata.NewOutgoingContext(ss.Context(), out), method, &req, &resp, grpc.Header(&header), grpc.Trailer(&trailer))
	ss.SetTrailer(filter(trailer))
	if err != nil {
		return err
	}
	if err := ss.SetHeader(filter(header)); err != nil {
		return err
	}
	return ss.SendMsg(&resp)
}

func (f *Frontend) keyKind(auth []string) string {
	if len(auth) != 1 {
		return "unknown"
	}
	key, ok := strings.CutPrefix(auth[0], "Bearer ")
	if !ok {
		return "unknown"
	}
	for _, k := range f.cfg.OperatorKeys {
		if k == key {
			return "operator"
		}
	}
	for _, k := range f.cfg.WorkerKeys {
		if k == key {
			return "worker"
		}
	}
	return "unknown"
}

// reserved reports whether a metadata key belongs to the transport.
func reserved(k string) bool {
	return strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") || k == "content-type" || k == "user-agent" || k == "te"
}

func filter(md metadata.MD) metadata.MD {
	out := metadata.MD{}
	for k, v := range md {
		if !reserved(k) {
			out[k] = v
		}
	}
	return out
}

// rawCodec passes messages through as bytes (*[]byte).
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: %T", v)
	}
	*b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }
