// Package version holds the build's version, commit and date, stamped by the
// release build (goreleaser) or `make build` with -ldflags -X, so that every
// binary of the project reports them the same way.
package version

import (
	"fmt"
	"strings"
)

// These are set with -ldflags "-X github.com/aksoidc/aksoidc/internal/version.Version=...".
// They are variables, not constants, because -X can only set variables.
var (
	// Version is the release version. goreleaser's {{.Version}} has no
	// leading "v" and `git describe` has one; String shows both as "v1.2.3".
	Version = "dev"
	// Commit is the full or short commit the binary was built from.
	Commit = ""
	// Date is when the commit was made (RFC 3339), so that a rebuild of the
	// same commit reports the same date.
	Date = ""
)

// String describes the build in one line, for example
// "v1.2.3 (commit abc1234, built 2026-11-29T10:00:00Z)". Unknown parts are
// left out: an unstamped build is just "dev".
func String() string {
	return format(Version, Commit, Date)
}

func format(version, commit, date string) string {
	if version == "" {
		version = "dev"
	}
	if version[0] >= '0' && version[0] <= '9' {
		version = "v" + version
	}
	var details []string
	if commit != "" {
		details = append(details, "commit "+shortCommit(commit))
	}
	if date != "" {
		details = append(details, "built "+date)
	}
	if len(details) == 0 {
		return version
	}
	return fmt.Sprintf("%s (%s)", version, strings.Join(details, ", "))
}

// shortCommit shortens a full commit hash the way git does by default.
func shortCommit(commit string) string {
	const short = 7
	if len(commit) > short {
		return commit[:short]
	}
	return commit
}
