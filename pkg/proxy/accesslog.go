package proxy

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"
)

// auditIDHeader carries a request's audit ID: kube-apiserver takes it from the request as its
// audit event's auditID and returns it in the response.
const auditIDHeader = "Audit-Id"

// withAccessLog writes one JSON line per request and counts it. It resolves the request's verb
// and client address once, for the middleware inside it.
func withAccessLog(log *slog.Logger, m *Metrics, trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			state := newRequestState(r)
			state.clientIP = clientIP(r, trusted)
			// Ours, never the client's: an ID a client chose could pose as another request's.
			state.auditID = uuid.NewString()
			w.Header().Set(auditIDHeader, state.auditID)
			rec := &recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), stateKey{}, state)))
			code := rec.code()
			m.observeRequest(state.verb, code)
			attrs := []slog.Attr{
				slog.String("auditID", state.auditID),
				slog.String("clientIP", state.clientIP),
				slog.String("user", state.user),
				slog.Any("groups", state.groups),
				slog.Bool("passthrough", state.passthrough),
				slog.String("verb", state.verb),
				slog.String("method", r.Method),
				slog.String("path", state.path),
				slog.Int("status", code),
				slog.String("reason", state.reason),
				slog.Duration("duration", time.Since(start)),
				slog.Int64("bytes", rec.bytes),
			}
			switch {
			case state.impersonatedUser != "" && state.passthrough: // the API server decides, with the client's token
				attrs = append(attrs, slog.String("requestedImpersonatedUser", state.impersonatedUser))
			case state.impersonatedUser != "": // kubectl --as: who asked (user) and as whom
				attrs = append(attrs, slog.String("impersonatedUser", state.impersonatedUser), slog.Any("impersonatedGroups", state.impersonatedGroups))
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		})
	}
}

// withRecover turns a panic anywhere below into a 500 for this request only.
func withRecover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v) // the server's own way to abort a response; let it do so
					}
					log.Error("panic while serving a request", "panic", v, "path", r.URL.Path)
					writeStatus(w, http.StatusInternalServerError, "InternalError", "internal error")
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// recorder notes the status and size of a response. Flush reaches the server's writer through
// Unwrap; Hijack is implemented so that an upgraded connection is recorded as 101.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 || r.status < 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil && r.status == 0 {
		r.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
