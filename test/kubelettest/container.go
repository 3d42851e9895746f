package kubelettest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	criremotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// executor is what runs "in the container" for exec. It knows five commands:
//
//	cat               copies stdin to stdout until stdin ends
//	tee /dev/stderr   copies stdin to stdout and stderr until stdin ends
//	head -n N         copies N lines of stdin to stdout (for clients that cannot end stdin)
//	echo ARGS         writes ARGS and a newline to stdout
//	exit N            exits with status N
//
// Any other command exits 127 with "sh: NAME: not found" on stderr, as a shell would.
type executor struct{}

func (executor) ExecInContainer(_ context.Context, _, _, _ string, cmd []string, in io.Reader, out, errOut io.WriteCloser, _ bool, _ <-chan criremotecommand.TerminalSize, _ time.Duration) error {
	if len(cmd) == 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("no command"), Code: 127}
	}
	switch cmd[0] {
	case "cat":
		if in == nil || out == nil {
			return nil
		}
		_, err := io.Copy(out, in)
		return err
	case "tee":
		if in == nil || out == nil || errOut == nil || len(cmd) != 2 || cmd[1] != "/dev/stderr" {
			return utilexec.CodeExitError{Err: fmt.Errorf("tee: want stdin, stdout, stderr and /dev/stderr"), Code: 2}
		}
		_, err := io.Copy(io.MultiWriter(out, errOut), in)
		return err
	case "head":
		return head(cmd[1:], in, out)
	case "echo":
		if out != nil {
			_, _ = io.WriteString(out, strings.Join(cmd[1:], " ")+"\n")
		}
		return nil
	case "exit":
		code := 0
		if len(cmd) > 1 {
			code, _ = strconv.Atoi(cmd[1])
		}
		if code == 0 {
			return nil
		}
		return utilexec.CodeExitError{Err: fmt.Errorf("exit status %d", code), Code: code}
	default:
		if errOut != nil {
			_, _ = fmt.Fprintf(errOut, "sh: %s: not found\n", cmd[0])
		}
		return utilexec.CodeExitError{Err: fmt.Errorf("%s: not found", cmd[0]), Code: 127}
	}
}

func head(args []string, in io.Reader, out io.Writer) error {
	n := -1
	if len(args) == 2 && args[0] == "-n" {
		n, _ = strconv.Atoi(args[1])
	}
	if in == nil || out == nil || n < 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("head: want stdin, stdout and -n N"), Code: 2}
	}
	r := bufio.NewReader(in)
	for range n {
		line, err := r.ReadString('\n')
		if _, werr := io.WriteString(out, line); err != nil || werr != nil {
			return nil // stdin ended early, as head does
		}
	}
	return nil
}

// forwarder connects a port-forward stream to the loopback address of the pod's port.
type forwarder struct{ ports map[int32]string }

func (f forwarder) PortForward(ctx context.Context, _, _ string, port int32, stream io.ReadWriteCloser) error {
	addr, ok := f.ports[port]
	if !ok {
		return fmt.Errorf("nothing listens on port %d", port)
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	go func() {
		_, _ = io.Copy(conn, stream)
		_ = conn.(*net.TCPConn).CloseWrite() // the client is done sending: so is the container's peer
	}()
	_, err = io.Copy(stream, conn)
	return err
}

// Echo runs a TCP server on 127.0.0.1 that writes back each line it reads, for Options.Ports,
// and returns its address.
func Echo(t testing.TB) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = conn.Close() }()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if _, werr := io.WriteString(conn, line); err != nil || werr != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}
