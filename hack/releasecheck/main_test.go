package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A snapshot's version and the tag its URLs name, as goreleaser makes them.
const (
	testVersion = "1.2.3-snapshot-abc1234"
	testTag     = "v1.2.2"
)

// sum is a made-up archive's sha256.
func sum(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

func url(name string) string { return downloadBase + testTag + "/" + name }

// writeDist writes a dist/ as goreleaser does (checksums, SBOMs, cask,
// Scoop and winget manifests), then applies edit to its files.
func writeDist(t *testing.T, edit func(files map[string]string)) string {
	t.Helper()
	files := map[string]string{}
	var sums strings.Builder
	for _, a := range append(sortedValues(pluginArchives), proxyArchives...) {
		sbom := `{"spdxVersion":"SPDX-2.3","name":"` + a + `","packages":[{"name":"stdlib"},{"name":"github.com/aksoidc/aksoidc","versionInfo":"v0.0.0-20261202093856-29c5dcff9f46"}]}`
		h := sha256.Sum256([]byte(sbom))
		fmt.Fprintf(&sums, "%s  %s\n%x  %s.sbom.json\n", sum(a), a, h, a)
		files[a+".sbom.json"] = sbom
	}
	files["checksums.txt"] = sums.String()
	files["homebrew/Casks/kubectl-aksoidc.rb"] = cask()
	files["scoop/kubectl-aksoidc.json"] = `{"version":"` + testVersion + `","architecture":{` +
		`"64bit":{"url":"` + url("kubectl-aksoidc_windows_amd64.zip") + `","bin":["kubectl-aksoidc.exe"],"hash":"` + sum("kubectl-aksoidc_windows_amd64.zip") + `"},` +
		`"arm64":{"url":"` + url("kubectl-aksoidc_windows_arm64.zip") + `","bin":["kubectl-aksoidc.exe"],"hash":"` + sum("kubectl-aksoidc_windows_arm64.zip") + `"}},` +
		`"homepage":"https://github.com/aksoidc/aksoidc","license":"Apache-2.0","description":"d"}`
	for name, content := range winget() {
		files["winget/manifests/a/aksoidc/kubectl-aksoidc/"+testVersion+"/"+name] = content
	}
	if edit != nil {
		edit(files)
	}
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// cask is goreleaser's cask layout.
func cask() string {
	entry := func(a string) string {
		return fmt.Sprintf("      url \"%s\"\n      sha256 \"%s\"\n", url(a), sum(a))
	}
	return "cask \"kubectl-aksoidc\" do\n  version \"" + testVersion + "\"\n\n  on_macos do\n    on_intel do\n" +
		entry("kubectl-aksoidc_darwin_amd64.tar.gz") + "    end\n    on_arm do\n" + entry("kubectl-aksoidc_darwin_arm64.tar.gz") +
		"    end\n  end\n\n  on_linux do\n    on_intel do\n" + entry("kubectl-aksoidc_linux_amd64.tar.gz") +
		"    end\n    on_arm do\n" + entry("kubectl-aksoidc_linux_arm64.tar.gz") + "    end\n  end\n\n" +
		"  name \"kubectl-aksoidc\"\n  binary \"kubectl-aksoidc\"\nend\n"
}

func winget() map[string]string {
	head := "PackageIdentifier: aksoidc.kubectl-aksoidc\nPackageVersion: " + testVersion + "\n"
	installer := func(arch, a string) string {
		return "  - Architecture: " + arch + "\n    NestedInstallerType: portable\n    NestedInstallerFiles:\n" +
			"      - RelativeFilePath: kubectl-aksoidc.exe\n        PortableCommandAlias: kubectl-aksoidc\n" +
			"    InstallerUrl: " + url(a) + "\n    InstallerSha256: " + strings.ToUpper(sum(a)) + "\n"
	}
	return map[string]string{
		"aksoidc.kubectl-aksoidc.yaml": head + "DefaultLocale: en-US\nManifestType: version\nManifestVersion: 1.12.0\n",
		"aksoidc.kubectl-aksoidc.installer.yaml": head + "InstallerType: zip\nInstallers:\n" +
			installer("x64", "kubectl-aksoidc_windows_amd64.zip") + installer("arm64", "kubectl-aksoidc_windows_arm64.zip") +
			"ManifestType: installer\nManifestVersion: 1.12.0\n",
		"aksoidc.kubectl-aksoidc.locale.en-US.yaml": head + "PackageLocale: en-US\nPublisher: aksoidc\nPackageName: kubectl-aksoidc\n" +
			"License: Apache-2.0\nShortDescription: kubectl credential plugin\nManifestType: defaultLocale\nManifestVersion: 1.12.0\n",
	}
}

func replace(name, old, repl string) func(map[string]string) {
	return func(files map[string]string) {
		if !strings.Contains(files[name], old) {
			panic(fmt.Sprintf("%s has no %q", name, old))
		}
		files[name] = strings.Replace(files[name], old, repl, 1)
	}
}

const (
	caskPath   = "homebrew/Casks/kubectl-aksoidc.rb"
	scoopPath  = "scoop/kubectl-aksoidc.json"
	wingetDir  = "winget/manifests/a/aksoidc/kubectl-aksoidc/" + testVersion + "/"
	installer  = wingetDir + "aksoidc.kubectl-aksoidc.installer.yaml"
	localePath = wingetDir + "aksoidc.kubectl-aksoidc.locale.en-US.yaml"
)

func TestCheck(t *testing.T) {
	winAmd64, darwinArm64 := "kubectl-aksoidc_windows_amd64.zip", "kubectl-aksoidc_darwin_arm64.tar.gz"
	tests := []struct {
		name string
		edit func(map[string]string)
		want []string // with DIST for the dist dir
	}{
		{name: "as goreleaser writes it"},
		{
			name: "an archive without SBOM",
			edit: func(f map[string]string) { delete(f, "aksoidc-proxy_linux_arm64.tar.gz.sbom.json") },
			want: []string{"no SBOM for aksoidc-proxy_linux_arm64.tar.gz: open DIST/aksoidc-proxy_linux_arm64.tar.gz.sbom.json: no such file or directory"},
		},
		{
			name: "an SBOM without the module",
			edit: replace(darwinArm64+".sbom.json", `"name":"github.com/aksoidc/aksoidc"`, `"name":"other"`),
			want: []string{
				"checksums.txt does not list " + darwinArm64 + ".sbom.json with its sha256",
				"DIST/" + darwinArm64 + ".sbom.json: no package github.com/aksoidc/aksoidc",
			},
		},
		{
			name: "an SBOM without the module's version",
			edit: replace(darwinArm64+".sbom.json", `"versionInfo":"v0.0.0-20261202093856-29c5dcff9f46"`, `"versionInfo":"UNKNOWN"`),
			want: []string{
				"checksums.txt does not list " + darwinArm64 + ".sbom.json with its sha256",
				"DIST/" + darwinArm64 + `.sbom.json: github.com/aksoidc/aksoidc has version "UNKNOWN", want the module's`,
			},
		},
		{
			name: "a cask sha256 that is not the archive's",
			edit: replace(caskPath, sum(darwinArm64), sum("other")),
			want: []string{fmt.Sprintf("DIST/%s: sha256 of %s is %q, checksums.txt says %s", caskPath, darwinArm64, sum("other"), sum(darwinArm64))},
		},
		{
			name: "a cask URL of another release",
			edit: replace(caskPath, testTag+"/"+darwinArm64, "v0.0.1/"+darwinArm64),
			want: []string{
				fmt.Sprintf("DIST/%s: URL %q is not an asset of release %s", caskPath, downloadBase+"v0.0.1/"+darwinArm64, testTag),
				fmt.Sprintf("DIST/%s: names archives [kubectl-aksoidc_darwin_amd64.tar.gz kubectl-aksoidc_linux_amd64.tar.gz kubectl-aksoidc_linux_arm64.tar.gz], want [kubectl-aksoidc_darwin_amd64.tar.gz kubectl-aksoidc_darwin_arm64.tar.gz kubectl-aksoidc_linux_amd64.tar.gz kubectl-aksoidc_linux_arm64.tar.gz]", caskPath),
			},
		},
		{
			name: "a Scoop hash that is not the archive's",
			edit: replace(scoopPath, sum(winAmd64), sum("other")),
			want: []string{fmt.Sprintf("DIST/%s 64bit: sha256 of %s is %q, checksums.txt says %s", scoopPath, winAmd64, sum("other"), sum(winAmd64))},
		},
		{
			name: "a Scoop bin that is not the plugin",
			edit: replace(scoopPath, `"bin":["kubectl-aksoidc.exe"]`, `"bin":["other.exe"]`),
			want: []string{fmt.Sprintf("DIST/%s 64bit: bin [other.exe], want [kubectl-aksoidc.exe]", scoopPath)},
		},
		{
			name: "a winget installer hash that is not the archive's",
			edit: replace(installer, strings.ToUpper(sum(winAmd64)), strings.ToUpper(sum("other"))),
			want: []string{fmt.Sprintf("DIST/%s x64: sha256 of %s is %q, checksums.txt says %s", wingetDir[:len(wingetDir)-1], winAmd64, strings.ToUpper(sum("other")), sum(winAmd64))},
		},
		{
			name: "a winget locale without its license",
			edit: replace(localePath, "License: Apache-2.0\n", ""),
			want: []string{"DIST/" + wingetDir[:len(wingetDir)-1] + ": winget locale manifest lacks a required field: {wingetCommon:{PackageIdentifier:aksoidc.kubectl-aksoidc PackageVersion:" + testVersion + " ManifestType:defaultLocale ManifestVersion:1.12.0} PackageLocale:en-US Publisher:aksoidc PackageName:kubectl-aksoidc License: ShortDescription:kubectl credential plugin}"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dist := writeDist(t, tt.edit)
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "DIST", dist))
			}
			if diff := cmp.Diff(want, check(dist, testVersion, testTag)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	dist := writeDist(t, nil)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-dist", dist, "-version", testVersion, "-tag", testTag}, &stdout, &stderr); code != 0 {
		t.Errorf("run on a good dist: exit %d, stderr %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"-dist", dist, "-version", "9.9.9", "-tag", testTag}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no version \"9.9.9\"") {
		t.Errorf("run with another version: exit %d, stderr %s; want 1 and the cask's version named", code, stderr.String())
	}
}
