package importer

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrDTD refuses documents that declare a DTD: entity declarations are how
// XML bombs and external-entity reads work, and no export needs one.
var ErrDTD = errors.New("the document declares a DTD or entities, which imports refuse")

// maxRun caps the bytes between two '<' of an XML document: encoding/xml
// holds a whole text node in memory, and a real comment is far smaller.
const maxRun = 16 << 20

// newXMLDecoder is lenient where real exports are broken (unquoted
// attributes, unknown entities left as text, stray bytes around the root
// element) and strict where leniency would be dangerous (see ErrDTD).
func newXMLDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(&runGuard{r: r})
	d.Strict = false
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		// Bytes that are not UTF-8 were already replaced (Source.Open):
		// reading on as UTF-8 keeps every ASCII character of a Latin-1 file.
		return in, nil
	}
	return d
}

// ErrWrongFormat means the file is not in the format it was said to be.
var ErrWrongFormat = errors.New("the file is not in the given format")

// xmlElements checks that the document's root element is root, then calls
// each for every start element below it, at any depth, that each does not
// consume itself; each returns whether it did (with DecodeElement or Skip).
func xmlElements(d *xml.Decoder, root string, each func(start xml.StartElement) (bool, error)) error {
	seenRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !seenRoot {
				return fmt.Errorf("%w: no <%s> element", ErrWrongFormat, root)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", lineOf(d), err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if strings.HasPrefix(strings.TrimSpace(string(t)), "DOCTYPE") || strings.Contains(string(t), "ENTITY") {
				return ErrDTD
			}
		case xml.StartElement:
			if !seenRoot {
				if t.Name.Local != root {
					return fmt.Errorf("%w: the document is <%s>, not <%s>", ErrWrongFormat, t.Name.Local, root)
				}
				seenRoot = true
				continue
			}
			if _, err := each(t); err != nil {
				return fmt.Errorf("line %d: %w", lineOf(d), err)
			}
		}
	}
}

func lineOf(d *xml.Decoder) int {
	line, _ := d.InputPos()
	return line
}

// runGuard fails a document with a text run longer than maxRun.
type runGuard struct {
	r   io.Reader
	run int
}

// ErrHugeText means one text node of an XML document exceeds maxRun.
var ErrHugeText = fmt.Errorf("a text node is longer than %d MiB", maxRun>>20)

func (g *runGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	for _, c := range p[:n] {
		if c == '<' {
			g.run = 0
			continue
		}
		g.run++
	}
	if g.run > maxRun {
		return 0, ErrHugeText
	}
	return n, err
}

// parseTime reads the timestamp layouts exports use; ok is false when none fits.
func parseTime(s string, layouts ...string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func isTrue(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "true" || s == "1"
}
