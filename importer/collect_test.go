package importer

import (
	"testing"
)

// collector is a Stream that keeps what it gets.
type collector struct {
	comments []*Comment
	skips    []string
}

func (c *collector) Comment(cm *Comment) error { c.comments = append(c.comments, cm); return nil }
func (c *collector) Skip(item, reason string)  { c.skips = append(c.skips, item+": "+reason) }

func read(t *testing.T, format, path string) (*collector, error) {
	t.Helper()
	var c collector
	err := Formats[format](Source{Path: path}, &c)
	return &c, err
}
