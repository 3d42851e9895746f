package soak

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/utils/ptr"

	"github.com/aksoidc/aksoidc/test/kubelettest"
	"github.com/aksoidc/aksoidc/test/syncbuf"
)

// The kinds of streaming session the mixed load opens, as kubectl logs -f, exec and
// port-forward do.
const (
	followSession = iota
	execSession
	portForwardSession
	sessionKinds
)

var sessionNames = [sessionKinds]string{"logs-f", "exec", "port-forward"}

// sessionTimeout bounds one session, so that a stuck one is a failure and not a hung run.
const sessionTimeout = 30 * time.Second

// sessions opens and closes sessions of kind through the proxy as a user of its own until
// ctx ends, each with a fresh client (and, as tokens are renewed, a fresh token).
func (l *load) sessions(ctx context.Context, kind, worker int) {
	u := &user{name: fmt.Sprintf("%s-%d", sessionNames[kind], worker)}
	open := [sessionKinds]func(context.Context, *rest.Config, string, int) error{l.follow, l.exec, l.portForward}[kind]
	for i := 0; !over(ctx); i++ {
		sctx, cancel := context.WithTimeout(ctx, sessionTimeout)
		err := open(sctx, l.p.restConfig(l.tokenOf(u)), fmt.Sprintf("%s session %d\n", u.name, i), i)
		cancel()
		switch {
		case over(ctx):
		case err != nil:
			l.fail("%s session %d: %v", sessionNames[kind], i, err)
		default:
			l.ok.Add(1)
			l.sessionsOK[kind].Add(1)
		}
	}
}

// follow follows the pod's log from its end, writes line and waits for it.
func (l *load) follow(ctx context.Context, cfg *rest.Config, line string, _ int) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	opts := &corev1.PodLogOptions{Follow: true, TailLines: ptr.To[int64](0)}
	stream, err := client.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = stream.Close() }()
	l.e.kubelet.Log(namespace, pod, kubelettest.Container, strings.TrimSuffix(line, "\n"))
	r := bufio.NewReader(stream)
	for {
		got, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("follow until %q: %w", line, err)
		}
		if got == line {
			return nil
		}
	}
}

// exec runs cat with line on stdin and wants it back, or every fourth time exit 3 and wants
// the exit code, over WebSocket with kubectl's fallback to SPDY.
func (l *load) exec(ctx context.Context, cfg *rest.Config, line string, i int) error {
	command, stdin, wantCode := []string{"cat"}, line, 0
	if i%4 == 3 {
		command, stdin, wantCode = []string{"exit", "3"}, "", 3
	}
	q := url.Values{"command": command, "container": {kubelettest.Container}, "stdout": {"true"}, "stderr": {"true"}}
	if stdin != "" {
		q.Set("stdin", "true")
	}
	u, err := url.Parse(cfg.Host + "/api/v1/namespaces/" + namespace + "/pods/" + pod + "/exec?" + q.Encode())
	if err != nil {
		return err
	}
	ws, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u.String())
	if err != nil {
		return err
	}
	s, err := remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
	if err != nil {
		return err
	}
	e, err := remotecommand.NewFallbackExecutor(ws, s, l.fallback)
	if err != nil {
		return err
	}
	var stdout, stderr syncbuf.Buffer // client-go's copy may still be writing when an error returns
	streams := remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}
	if stdin != "" {
		streams.Stdin = strings.NewReader(stdin)
	}
	err = e.StreamWithContext(ctx, streams)
	code := 0
	var exitErr exec.CodeExitError
	if errors.As(err, &exitErr) {
		code, err = exitErr.Code, nil
	}
	if err != nil || code != wantCode || stdout.String() != stdin || stderr.String() != "" {
		return fmt.Errorf("%v: exit %d, stdout %q, stderr %q, want exit %d, stdout %q: %v", command, code, stdout.String(), stderr.String(), wantCode, stdin, err)
	}
	return nil
}

// portForward forwards a local port to the pod's echo server over the WebSocket tunnel, with
// kubectl's fallback to SPDY, and sends line through it both ways.
func (l *load) portForward(ctx context.Context, cfg *rest.Config, line string, _ int) error {
	u, err := url.Parse(cfg.Host + "/api/v1/namespaces/" + namespace + "/pods/" + pod + "/portforward")
	if err != nil {
		return err
	}
	tunnel, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, cfg)
	if err != nil {
		return err
	}
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return err
	}
	dialer := portforward.NewFallbackDialerForStreaming(tunnel, spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: rt}, http.MethodPost, u), l.fallback)
	stop, ready, ended := make(chan struct{}), make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddressesForStreaming(dialer, []string{"127.0.0.1"}, []string{"0:80"}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		return err
	}
	var fwErr error
	go func() { fwErr = fw.ForwardPorts(); close(ended) }()
	defer func() { close(stop); <-ended }()
	select {
	case <-ready:
	case <-ended:
		return fmt.Errorf("port-forward: %w", fwErr)
	case <-ctx.Done():
		return ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil {
		return err
	}
	return echoThrough(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local))), line)
}

// echoThrough sends line to addr and wants it back.
func echoThrough(ctx context.Context, addr, line string) error {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := io.WriteString(conn, line); err != nil {
		return fmt.Errorf("write through the port-forward: %w", err)
	}
	got, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || got != line {
		return fmt.Errorf("read through the port-forward: %q, want %q: %w", got, line, err)
	}
	return nil
}

// fallback is how kubectl (>= 1.31) decides to retry over SPDY; it counts the retries, which
// mean the proxy refused a WebSocket upgrade that kube-apiserver serves.
func (l *load) fallback(err error) bool {
	if httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err) {
		l.fallbacks.Add(1)
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.firstFallbacks) < 5 {
			l.firstFallbacks = append(l.firstFallbacks, err.Error())
		}
		return true
	}
	return false
}

// restConfig is a client-go configuration for the proxy with token.
func (p *proxyProc) restConfig(token string) *rest.Config {
	return &rest.Config{Host: p.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: p.CA.PEM}}
}
