// Command releasecheck checks what goreleaser wrote into dist/ beyond the
// archives: an SPDX SBOM for every archive, and the Homebrew cask, Scoop
// manifest and winget manifests of kubectl-aksoidc, whose URLs and hashes
// must name the release's archives exactly as checksums.txt does. A package
// manager would refuse (or worse, install something else) otherwise.
//
// Usage: go run ./hack/releasecheck -dist dist -version 1.2.3 -tag v1.2.3
// (run by hack/release-check.sh with dist/metadata.json's version and tag: a
// snapshot's tag is the last one, or v0.0.0, and the URLs name it).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("releasecheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dist := fs.String("dist", "dist", "goreleaser's dist directory")
	version := fs.String("version", "", "the release's version, without a leading v")
	tag := fs.String("tag", "", "the release's git tag, which its download URLs name")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version == "" || *tag == "" {
		_, _ = fmt.Fprintln(stderr, "releasecheck: --version and --tag are required")
		return 2
	}
	problems := check(*dist, *version, *tag)
	for _, p := range problems {
		_, _ = fmt.Fprintf(stderr, "releasecheck: %s\n", p)
	}
	if len(problems) > 0 {
		return 1
	}
	_, _ = fmt.Fprintf(stdout, "releasecheck: %s: SBOMs, Homebrew cask, Scoop and winget manifests ok\n", *dist)
	return 0
}

// check returns every problem found, in a stable order.
func check(dist, version, tag string) []string {
	sums, err := readChecksums(dist)
	if err != nil {
		return []string{err.Error()}
	}
	r := release{dist: dist, version: version, tag: tag, sums: sums}
	var problems []string
	for _, c := range []func() []string{r.checkSBOMs, r.checkCask, r.checkScoop, r.checkWinget} {
		problems = append(problems, c()...)
	}
	return problems
}
