// Package buildinfo says which build of Parley is running, from what the Go
// toolchain records in the binary (module version, VCS revision and time).
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// revision is the commit, set with -ldflags "-X .../buildinfo.revision=SHA"
// where the toolchain cannot stamp one: an image build gets the sources
// without their .git directory.
var revision string

// Info describes one build.
type Info struct {
	Version   string // module version: a tag, a pseudo-version, or "(devel)"
	Revision  string // VCS commit, "unknown" when built outside a checkout
	Time      string // commit time (RFC 3339), empty when unknown
	Modified  bool   // built from a checkout with uncommitted changes
	GoVersion string
}

// Get returns the running binary's build information, read once.
var Get = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return From(bi, revision)
})

// From reads bi (nil when the binary carries none); linked is the revision
// given at link time, used when bi has none.
func From(bi *debug.BuildInfo, linked string) Info {
	info := Info{Version: "(devel)", Revision: "unknown", GoVersion: "unknown"}
	if linked != "" {
		info.Revision = linked
	}
	if bi == nil {
		return info
	}
	info.GoVersion = bi.GoVersion
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the one-line form `parley version` prints.
func (i Info) String() string {
	s := "parley " + i.Version + " (revision " + i.Revision
	if i.Modified {
		s += ", modified"
	}
	if i.Time != "" {
		s += ", " + i.Time
	}
	return s + ", " + i.GoVersion + ")"
}
