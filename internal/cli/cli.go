// Package cli is how both binaries, kubectl-aksoidc and aksoidc-proxy, report a failure: one
// line per problem, "<program>: <problem>", escaped for the terminal. Problems with the command
// line (a flag, a file a flag names, the environment) are all reported together and exit 2;
// a failure while running exits 1. Each problem names the flag and what it wants, never a Go
// function or a parser's own message.
package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/aksoidc/aksoidc/internal/termtext"
)

// Exit codes.
const (
	ExitRuntime = 1
	ExitUsage   = 2
)

// UsageError is every problem found with a command line.
type UsageError struct {
	Problems []error
}

func (e *UsageError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// Usage returns a *UsageError of the non-nil errs (a *UsageError among them adds its
// problems), or nil when there are none.
func Usage(errs ...error) error {
	var problems []error
	for _, err := range errs {
		var u *UsageError
		switch {
		case err == nil:
		case errors.As(err, &u):
			problems = append(problems, u.Problems...)
		default:
			problems = append(problems, err)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &UsageError{Problems: problems}
}

// Report prints err for program on w and returns the exit code: 0 for nil, ExitUsage for a
// *UsageError, else ExitRuntime.
func Report(w io.Writer, program string, err error) int {
	if err == nil {
		return 0
	}
	var u *UsageError
	if !errors.As(err, &u) {
		_, _ = fmt.Fprintf(w, "%s: %s\n", program, termtext.Escape(err.Error()))
		return ExitRuntime
	}
	for _, p := range u.Problems {
		_, _ = fmt.Fprintf(w, "%s: %s\n", program, termtext.Escape(p.Error()))
	}
	return ExitUsage
}

// FlagError rewrites what pflag reports about a flag's value in the words of the other
// problems, as a usage error: pflag's own message quotes strconv.
func FlagError(err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		return Usage(fmt.Errorf("--%s %q: want %s", invalid.GetFlag().Name, invalid.GetValue(), want(invalid.GetFlag().Value.Type())))
	}
	var unknown *pflag.NotExistError
	if errors.As(err, &unknown) {
		return Usage(fmt.Errorf("%s (see --help)", err))
	}
	return Usage(err)
}

func want(flagType string) string {
	switch flagType {
	case "int", "int32", "int64", "uint", "uint16":
		return "a whole number"
	case "float32", "float64":
		return "a number"
	case "duration":
		return "a duration such as 30s or 5m"
	case "bool":
		return "true or false"
	}
	return "a " + flagType
}

// ReadFile reads the file a flag names; its error names the flag, the path and the reason.
func ReadFile(flag, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err // "open": what failed is said here
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q: cannot read it: %w", flag, path, err)
	}
	return b, nil
}
