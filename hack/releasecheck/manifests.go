package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// wantArchives returns the plugin archives of the given GOOSes, sorted.
func wantArchives(goos ...string) []string {
	var out []string
	for platform, a := range pluginArchives {
		for _, o := range goos {
			if strings.HasPrefix(platform, o+"/") {
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// sameArchives is a problem unless got names exactly the want archives.
func sameArchives(where string, got, want []string) []string {
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		return []string{fmt.Sprintf("%s: names archives %v, want %v", where, got, want)}
	}
	return nil
}

var (
	caskVersion = regexp.MustCompile(`(?m)^\s*version "([^"]*)"$`)
	caskURL     = regexp.MustCompile(`(?m)^\s*url "([^"]*)"(?:,.*)?\n\s*sha256 "([^"]*)"$`)
	caskBinary  = regexp.MustCompile(`(?m)^\s*binary "([^"]*)"$`)
)

// checkCask reads the Homebrew cask: its version, and a url with the
// archive's sha256 for each macOS and Linux archive.
func (r release) checkCask() []string {
	path := filepath.Join(r.dist, "homebrew", "Casks", "kubectl-aksoidc.rb")
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{fmt.Sprintf("Homebrew cask: %v", err)}
	}
	text := string(data)
	var problems []string
	if m := caskVersion.FindStringSubmatch(text); m == nil || m[1] != r.version {
		problems = append(problems, fmt.Sprintf("%s: no version %q", path, r.version))
	}
	if m := caskBinary.FindStringSubmatch(text); m == nil || m[1] != "kubectl-aksoidc" {
		problems = append(problems, fmt.Sprintf("%s: no binary \"kubectl-aksoidc\"", path))
	}
	var names []string
	for _, m := range caskURL.FindAllStringSubmatch(text, -1) {
		// goreleaser writes the version into the URL as Ruby interpolation.
		url := strings.ReplaceAll(m[1], "#{version}", r.version)
		name, problem := r.asset(path, url, m[2])
		if problem != "" {
			problems = append(problems, problem)
		}
		if name != "" {
			names = append(names, name)
		}
	}
	return append(problems, sameArchives(path, names, wantArchives("darwin", "linux"))...)
}

// scoopManifest is the part of a Scoop manifest checked here.
type scoopManifest struct {
	Version      string `json:"version"`
	License      string `json:"license"`
	Architecture map[string]struct {
		URL  string   `json:"url"`
		Bin  []string `json:"bin"`
		Hash string   `json:"hash"`
	} `json:"architecture"`
}

// checkScoop reads the Scoop manifest: version, license, and a url, hash
// and bin for each Windows archive.
func (r release) checkScoop() []string {
	path := filepath.Join(r.dist, "scoop", "kubectl-aksoidc.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{fmt.Sprintf("Scoop manifest: %v", err)}
	}
	var m scoopManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	var problems []string
	if m.Version != r.version || m.License != "Apache-2.0" {
		problems = append(problems, fmt.Sprintf("%s: version %q license %q, want %q Apache-2.0", path, m.Version, m.License, r.version))
	}
	var names []string
	for arch, a := range m.Architecture {
		where := path + " " + arch
		if strings.Join(a.Bin, " ") != "kubectl-aksoidc.exe" {
			problems = append(problems, fmt.Sprintf("%s: bin %v, want [kubectl-aksoidc.exe]", where, a.Bin))
		}
		name, problem := r.asset(where, a.URL, a.Hash)
		if problem != "" {
			problems = append(problems, problem)
		}
		if name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(problems)
	return append(problems, sameArchives(path, names, wantArchives("windows"))...)
}
