package version

import "testing"

func TestFormat(t *testing.T) {
	tests := []struct {
		name                  string
		version, commit, date string
		want                  string
	}{
		{
			name:    "goreleaser release",
			version: "1.2.3", commit: "abc1234def5678abc1234def5678abc1234def56", date: "2026-11-29T10:00:00Z",
			want: "v1.2.3 (commit abc1234, built 2026-11-29T10:00:00Z)",
		},
		{
			name:    "goreleaser snapshot",
			version: "0.0.1-SNAPSHOT-abc1234", commit: "abc1234", date: "2026-11-29T10:00:00Z",
			want: "v0.0.1-SNAPSHOT-abc1234 (commit abc1234, built 2026-11-29T10:00:00Z)",
		},
		{
			name:    "git describe keeps its v",
			version: "v1.2.3-4-gabc1234-dirty",
			want:    "v1.2.3-4-gabc1234-dirty",
		},
		{name: "unstamped", want: "dev"},
		{name: "commit only", version: "dev", commit: "abc1234", want: "dev (commit abc1234)"},
		{name: "date only", version: "dev", date: "2026-11-29T10:00:00Z", want: "dev (built 2026-11-29T10:00:00Z)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := format(tt.version, tt.commit, tt.date); got != tt.want {
				t.Errorf("format(%q, %q, %q) = %q, want %q", tt.version, tt.commit, tt.date, got, tt.want)
			}
		})
	}
}

func TestStringUsesStampedVariables(t *testing.T) {
	saved := [3]string{Version, Commit, Date}
	t.Cleanup(func() { Version, Commit, Date = saved[0], saved[1], saved[2] })
	Version, Commit, Date = "1.2.3", "abc1234", "2026-11-29T10:00:00Z"
	want := "v1.2.3 (commit abc1234, built 2026-11-29T10:00:00Z)"
	if got := String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
