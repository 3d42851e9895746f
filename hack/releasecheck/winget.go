package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"
)

const wingetID = "aksoidc.kubectl-aksoidc"

// wingetCommon are the fields every winget manifest has.
type wingetCommon struct {
	PackageIdentifier string `json:"PackageIdentifier"`
	PackageVersion    string `json:"PackageVersion"`
	ManifestType      string `json:"ManifestType"`
	ManifestVersion   string `json:"ManifestVersion"`
}

type wingetInstaller struct {
	wingetCommon
	InstallerType string `json:"InstallerType"`
	Installers    []struct {
		Architecture         string `json:"Architecture"`
		NestedInstallerType  string `json:"NestedInstallerType"`
		NestedInstallerFiles []struct {
			RelativeFilePath     string `json:"RelativeFilePath"`
			PortableCommandAlias string `json:"PortableCommandAlias"`
		} `json:"NestedInstallerFiles"`
		InstallerURL    string `json:"InstallerUrl"`
		InstallerSha256 string `json:"InstallerSha256"`
	} `json:"Installers"`
}

type wingetLocale struct {
	wingetCommon
	PackageLocale    string `json:"PackageLocale"`
	Publisher        string `json:"Publisher"`
	PackageName      string `json:"PackageName"`
	License          string `json:"License"`
	ShortDescription string `json:"ShortDescription"`
}

// checkWinget reads the three manifests winget-pkgs takes for a version:
// version, installer (a portable kubectl-aksoidc.exe in each Windows zip)
// and default locale, with the fields the winget schema requires.
func (r release) checkWinget() []string {
	dir := filepath.Join(r.dist, "winget", "manifests", "a", "aksoidc", "kubectl-aksoidc", r.version)
	var version wingetCommon
	var inst wingetInstaller
	var locale wingetLocale
	var problems []string
	for _, f := range []struct {
		name string
		into any
	}{{wingetID + ".yaml", &version}, {wingetID + ".installer.yaml", &inst}, {wingetID + ".locale.en-US.yaml", &locale}} {
		data, err := os.ReadFile(filepath.Join(dir, f.name))
		if err == nil {
			err = yaml.Unmarshal(data, f.into)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("winget manifest: %v", err))
		}
	}
	if len(problems) > 0 {
		return problems
	}
	for _, c := range []struct {
		common wingetCommon
		typ    string
	}{{version, "version"}, {inst.wingetCommon, "installer"}, {locale.wingetCommon, "defaultLocale"}} {
		want := wingetCommon{wingetID, r.version, c.typ, version.ManifestVersion}
		if c.common != want || want.ManifestVersion == "" {
			problems = append(problems, fmt.Sprintf("%s: winget %s manifest says %+v, want %+v", dir, c.typ, c.common, want))
		}
	}
	if locale.PackageLocale != "en-US" || locale.Publisher == "" || locale.PackageName == "" ||
		locale.License != "Apache-2.0" || locale.ShortDescription == "" || len(locale.ShortDescription) > 256 {
		problems = append(problems, fmt.Sprintf("%s: winget locale manifest lacks a required field: %+v", dir, locale))
	}
	return append(problems, r.checkWingetInstallers(dir, inst)...)
}

func (r release) checkWingetInstallers(dir string, inst wingetInstaller) []string {
	var problems, names []string
	if inst.InstallerType != "zip" {
		problems = append(problems, fmt.Sprintf("%s: InstallerType %q, want zip", dir, inst.InstallerType))
	}
	for _, in := range inst.Installers {
		where := dir + " " + in.Architecture
		files := in.NestedInstallerFiles
		if in.NestedInstallerType != "portable" || len(files) != 1 ||
			files[0].RelativeFilePath != "kubectl-aksoidc.exe" || files[0].PortableCommandAlias != "kubectl-aksoidc" {
			problems = append(problems, fmt.Sprintf("%s: want a portable kubectl-aksoidc.exe, got %q %+v", where, in.NestedInstallerType, files))
		}
		name, problem := r.asset(where, in.InstallerURL, in.InstallerSha256)
		if problem != "" {
			problems = append(problems, problem)
		}
		if name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(problems)
	return append(problems, sameArchives(dir, names, wantArchives("windows"))...)
}
