package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFrom(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-07T18:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	bare := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	for _, tc := range []struct {
		name   string
		bi     *debug.BuildInfo
		linked string
		want   string
	}{
		{"stamped by the toolchain", stamped, "", "parley v1.2.3 (revision 0123abcd, modified, 2026-12-07T18:00:00Z, go1.26.8)"},
		{"the toolchain's stamp wins over the linked one", stamped, "ffff", "parley v1.2.3 (revision 0123abcd, modified, 2026-12-07T18:00:00Z, go1.26.8)"},
		{"linked where no checkout was", bare, "feedbeef", "parley (devel) (revision feedbeef, go1.26.8)"},
		{"nothing known", bare, "", "parley (devel) (revision unknown, go1.26.8)"},
		{"no build info at all", nil, "", "parley (devel) (revision unknown, unknown)"},
	} {
		if got := From(tc.bi, tc.linked).String(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
