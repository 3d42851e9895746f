package login

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
)

// Browser shows a URL to the user.
type Browser interface {
	Open(ctx context.Context, url string) error
}

// CommandBrowser runs a command with the URL as its last argument. The
// command's output goes to Output, never to stdout: stdout belongs to the
// ExecCredential.
type CommandBrowser struct {
	Command []string
	Output  io.Writer
}

// Open starts the command and returns once it has started; the browser keeps
// running on its own.
func (b CommandBrowser) Open(_ context.Context, url string) error {
	if len(b.Command) == 0 {
		return fmt.Errorf("no browser command")
	}
	args := append(b.Command[1:len(b.Command):len(b.Command)], url)
	// The browser must outlive a cancelled login, so no CommandContext here.
	cmd := exec.Command(b.Command[0], args...) //nolint:gosec,noctx // the user chose this command
	out := b.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr, cmd.Stdin = out, out, nil
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start browser %s: %w", b.Command[0], err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// DefaultBrowserCommand is the OS's way to open a URL in the default browser.
func DefaultBrowserCommand() []string {
	if b := os.Getenv("BROWSER"); b != "" {
		return []string{b}
	}
	switch runtime.GOOS {
	case "darwin":
		return []string{"open"}
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler"}
	default:
		return []string{"xdg-open"}
	}
}
