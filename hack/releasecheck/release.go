package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// downloadBase is where a release's assets are downloaded from.
const downloadBase = "https://github.com/aksoidc/aksoidc/releases/download/"

// pluginArchives are kubectl-aksoidc's archives, by GOOS/GOARCH.
var pluginArchives = map[string]string{
	"darwin/amd64":  "kubectl-aksoidc_darwin_amd64.tar.gz",
	"darwin/arm64":  "kubectl-aksoidc_darwin_arm64.tar.gz",
	"linux/amd64":   "kubectl-aksoidc_linux_amd64.tar.gz",
	"linux/arm64":   "kubectl-aksoidc_linux_arm64.tar.gz",
	"windows/amd64": "kubectl-aksoidc_windows_amd64.zip",
	"windows/arm64": "kubectl-aksoidc_windows_arm64.zip",
}

// proxyArchives are aksoidc-proxy's archives.
var proxyArchives = []string{"aksoidc-proxy_linux_amd64.tar.gz", "aksoidc-proxy_linux_arm64.tar.gz"}

type release struct {
	dist, version, tag string
	// sums maps a file name to its sha256 in checksums.txt.
	sums map[string]string
}

var checksumLine = regexp.MustCompile(`^([0-9a-f]{64})  (\S+)$`)

// readChecksums parses dist/checksums.txt ("<sha256>  <name>" lines).
func readChecksums(dist string) (map[string]string, error) {
	path := filepath.Join(dist, "checksums.txt")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read checksums: %w", err)
	}
	defer func() { _ = f.Close() }()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		m := checksumLine.FindStringSubmatch(sc.Text())
		if m == nil {
			return nil, fmt.Errorf("%s:%d: want \"<sha256>  <name>\", got %q", path, n, sc.Text())
		}
		sums[m[2]] = m[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return sums, nil
}

// asset returns the archive name a download URL names (empty when it names
// none of the release's assets) and a problem unless checksums.txt gives that
// archive the same sha256.
func (r release) asset(where, url, sha256 string) (string, string) {
	name, ok := strings.CutPrefix(url, downloadBase+r.tag+"/")
	if !ok || strings.Contains(name, "/") {
		return "", fmt.Sprintf("%s: URL %q is not an asset of release %s", where, url, r.tag)
	}
	want, ok := r.sums[name]
	if !ok {
		return name, fmt.Sprintf("%s: %s is not in checksums.txt", where, name)
	}
	if !strings.EqualFold(sha256, want) {
		return name, fmt.Sprintf("%s: sha256 of %s is %q, checksums.txt says %s", where, name, sha256, want)
	}
	return name, ""
}

// spdxDocument is the part of an SPDX 2 JSON document checked here.
type spdxDocument struct {
	SPDXVersion string `json:"spdxVersion"`
	Name        string `json:"name"`
	Packages    []struct {
		Name        string `json:"name"`
		VersionInfo string `json:"versionInfo"`
	} `json:"packages"`
}

// checkSBOMs wants dist/<archive>.sbom.json for every archive, in
// checksums.txt (so the signature covers it), an SPDX document that lists the
// project's Go module with its version (syft reads both from the binary's
// build information).
func (r release) checkSBOMs() []string {
	archives := append(sortedValues(pluginArchives), proxyArchives...)
	var problems []string
	for _, a := range archives {
		if _, ok := r.sums[a]; !ok {
			problems = append(problems, fmt.Sprintf("checksums.txt does not list %s", a))
		}
		path := filepath.Join(r.dist, a+".sbom.json")
		data, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("no SBOM for %s: %v", a, err))
			continue
		}
		if h := sha256.Sum256(data); r.sums[a+".sbom.json"] != hex.EncodeToString(h[:]) {
			problems = append(problems, fmt.Sprintf("checksums.txt does not list %s.sbom.json with its sha256", a))
		}
		var doc spdxDocument
		if err := json.Unmarshal(data, &doc); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		if !strings.HasPrefix(doc.SPDXVersion, "SPDX-2.") {
			problems = append(problems, fmt.Sprintf("%s: spdxVersion %q, want SPDX-2.x", path, doc.SPDXVersion))
		}
		switch v, ok := packageVersion(doc, "github.com/aksoidc/aksoidc"); {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: no package github.com/aksoidc/aksoidc", path))
		case !strings.HasPrefix(v, "v"):
			// (devel) or UNKNOWN: the binary was built without -buildvcs.
			problems = append(problems, fmt.Sprintf("%s: github.com/aksoidc/aksoidc has version %q, want the module's", path, v))
		}
	}
	return problems
}

// packageVersion returns the version of the package called name.
func packageVersion(doc spdxDocument, name string) (string, bool) {
	for _, p := range doc.Packages {
		if p.Name == name {
			return p.VersionInfo, true
		}
	}
	return "", false
}

func sortedValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
