package importer

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync/atomic"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
)

// Limits on what an input file may expand to. A real Disqus export of a
// million comments is under 1 GiB uncompressed and compresses about 10:1;
// the caps leave room for that and refuse bombs early.
const (
	// MaxExpanded caps the bytes read out of a gzip stream or zip entry.
	MaxExpanded = 8 << 30
	// maxRatio caps expanded/compressed bytes once past ratioGrace.
	maxRatio   = 200
	ratioGrace = 1 << 20
	// maxZipEntries refuses archives that are mostly directory noise.
	maxZipEntries = 64
)

// ErrBomb means a compressed input expands beyond the limits.
var ErrBomb = errors.New("compressed input expands too far (a decompression bomb?)")

// Source is an input file. Readers may open it more than once (a first pass
// over the threads, a second over the comments), which keeps memory flat
// without requiring a format to list threads first.
type Source struct {
	// Path is the file on disk, as named on the command line or an upload
	// stored in the data directory.
	Path string
	// Read, when set, counts the bytes read from the file, for progress.
	Read *int64
}

// Open returns the file's content, unwrapped from gzip or from the single
// document of a zip archive, with invalid UTF-8 replaced by U+FFFD so that
// one stray byte cannot end a whole XML or JSON document.
func (s Source) Open() (io.ReadCloser, error) {
	raw, err := s.openRaw()
	if err != nil {
		return nil, err
	}
	return readCloser{transform.NewReader(raw, runes.ReplaceIllFormed()), raw}, nil
}

// openRaw is Open without the UTF-8 repair, for formats that are binary.
func (s Source) openRaw() (io.ReadCloser, error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, err
	}
	var r io.Reader = f
	if s.Read != nil {
		r = &progressReader{r: f, n: s.Read}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		counted := &countingReader{r: br}
		zr, err := gzip.NewReader(counted)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return readCloser{&bombGuard{r: zr, in: counted}, f}, nil
	case bytes.Equal(magic, []byte("PK\x03\x04")):
		r, err := openZipDocument(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		return readCloser{r, f}, nil
	}
	return readCloser{br, f}, nil
}

// openZipDocument finds the one document in a zip archive (WordPress
// exports come zipped) and returns a reader of it. Entry names are only
// compared, never used as paths, so "../" tricks have nothing to reach; the
// entry is read in memory through the bomb guard, whatever its header claims.
func openZipDocument(f *os.File) (io.Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	if len(zr.File) > maxZipEntries {
		return nil, fmt.Errorf("zip: %d entries, at most %d accepted", len(zr.File), maxZipEntries)
	}
	var doc *zip.File
	for _, e := range zr.File {
		name := strings.ToLower(path.Base(e.Name))
		if e.FileInfo().IsDir() || strings.HasPrefix(name, ".") || strings.HasPrefix(e.Name, "__MACOSX/") {
			continue
		}
		if !strings.HasSuffix(name, ".xml") && !strings.HasSuffix(name, ".json") && !strings.HasSuffix(name, ".jsonl") {
			continue
		}
		if doc != nil {
			return nil, errors.New("zip: more than one document in the archive")
		}
		doc = e
	}
	if doc == nil {
		return nil, errors.New("zip: no .xml or .json document in the archive")
	}
	if doc.UncompressedSize64 > MaxExpanded ||
		(doc.UncompressedSize64 > ratioGrace && doc.UncompressedSize64 > maxRatio*max(doc.CompressedSize64, 1)) {
		return nil, fmt.Errorf("zip entry %q: %w", doc.Name, ErrBomb)
	}
	rc, err := doc.Open()
	if err != nil {
		return nil, fmt.Errorf("zip entry %q: %w", doc.Name, err)
	}
	return &bombGuard{r: rc, in: &countingReader{n: int64(doc.CompressedSize64)}}, nil
}

// bombGuard fails a decompressed stream that grows past MaxExpanded or past
// maxRatio times the compressed bytes consumed.
type bombGuard struct {
	r   io.Reader
	in  *countingReader
	out int64
}

func (g *bombGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.out += int64(n)
	if g.out > MaxExpanded || (g.out > ratioGrace && g.out > maxRatio*max(g.in.n, 1)) {
		return 0, ErrBomb
	}
	return n, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type readCloser struct {
	io.Reader
	io.Closer
}

// progressReader counts bytes into n, which another goroutine reads.
type progressReader struct {
	r io.Reader
	n *int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	atomic.AddInt64(p.n, int64(n))
	return n, err
}
