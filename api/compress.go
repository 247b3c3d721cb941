package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"
)

// Compression: responses of text types are compressed for clients that
// accept it, on the fly with gzip or zstd (klauspost/compress's gzhttp),
// except the anonymous thread pages, which are compressed once per version
// with Brotli and gzip when built (see page.compress) and served as they are.

// minCompressSize is the smallest body worth compressing: below one packet
// the bytes saved buy no round trip.
const minCompressSize = 1024

// compressedTypes are the media types worth compressing: text. Images,
// event streams and anything already compressed pass through.
var compressedTypes = []string{
	"application/json", "text/html", "text/css", "text/javascript", "application/javascript",
	"text/plain", "image/svg+xml", "application/xml", "application/atom+xml", "application/rss+xml",
}

// holdsTokens reports whether responses to path may carry a secret (access
// and refresh tokens) next to text the client chose: compressing those would
// let an attacker who sees the ciphertext's length guess the secret (BREACH).
func holdsTokens(path string) bool {
	return strings.HasPrefix(path, "/api/v1/auth/")
}

// compression is the middleware that compresses responses. An ETag of a
// compressed response gets the encoding as a suffix ("abc-gzip"), as RFC
// 9110 wants for a representation of other bytes; If-None-Match comes back
// with it, so it is taken off the request's tags before any handler
// compares them with its own.
func compression() echo.MiddlewareFunc {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(minCompressSize), gzhttp.ContentTypes(compressedTypes),
		gzhttp.SuffixETag("-gzip"))
	if err != nil {
		panic(fmt.Sprintf("api: compression: %v", err)) // fixed options: a broken build
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if inm := r.Header.Get("If-None-Match"); inm != "" {
				r.Header.Set("If-None-Match", stripEncodingSuffixes(inm))
			}
			res := c.Response()
			if r.Method == http.MethodHead {
				// The handler answers as to GET and the body is dropped
				// below the compressor, so HEAD gets GET's headers,
				// Content-Encoding and ETag included.
				res.Writer = bodyless{res.Writer}
				c.Set(headKey, true)
				get := r.WithContext(r.Context())
				get.Method = http.MethodGet
				c.SetRequest(get)
				defer c.SetRequest(r)
			}
			if holdsTokens(r.URL.Path) {
				return next(c)
			}
			wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				orig := res.Writer
				res.Writer = w
				defer func() { res.Writer = orig }()
				// The error is answered here, through the compressing writer,
				// which is closed once this function returns.
				if err := next(c); err != nil {
					c.Error(err)
				}
			})).ServeHTTP(res.Writer, c.Request())
			return nil
		}
	}
}

// encodingSuffixes are the ETag suffixes of compressed representations.
var encodingSuffixes = []string{"-gzip", "-zstd", "-br"}

// stripEncodingSuffixes turns If-None-Match's entity tags back into the tags
// of the uncompressed representations.
func stripEncodingSuffixes(header string) string {
	tags := strings.Split(header, ",")
	for i, t := range tags {
		t = strings.TrimSpace(t)
		if strings.HasSuffix(t, `"`) {
			for _, s := range encodingSuffixes {
				if strings.HasSuffix(t, s+`"`) {
					t = t[:len(t)-len(s)-1] + `"`
					break
				}
			}
		}
		tags[i] = t
	}
	return strings.Join(tags, ", ")
}

// accepts reports whether an Accept-Encoding header accepts coding, taking
// "q=0" as a refusal (RFC 9110 12.5.3).
func accepts(header, coding string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				v = strings.TrimRight(strings.TrimSpace(v), "0")
				return v != "" && v != "0." && v != "0"
			}
		}
		return true
	}
	return false
}

// compressBody returns body compressed with gzip and with Brotli. It runs
// once per page version, and every reader of that version gets the smaller
// bytes.
func compressBody(body []byte) (gz, br []byte) {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzipLevel) // a valid level cannot fail
	zw.Write(body)
	zw.Close()
	gz = bytes.Clone(b.Bytes())
	b.Reset()
	bw := brotli.NewWriterLevel(&b, brotliLevel)
	bw.Write(body)
	bw.Close()
	return gz, bytes.Clone(b.Bytes())
}

// The levels trade the time of a page build for size. On a 200-comment
// page (211 KB), measured: gzip 5 gives 37 KB in 7 ms where 9 gives 34 KB
// in 70 ms; Brotli 4 gives 15 KB in 10 ms where 6 gives 13 KB in 45 ms.
const (
	gzipLevel   = 5
	brotliLevel = 4
)

// headKey marks a HEAD request that handlers see as a GET (above).
const headKey = "parley.head"

// isHead reports whether the client sent HEAD: a handler whose GET acts
// (spends a one-time link) must only look.
func isHead(c echo.Context) bool {
	return c.Request().Method == http.MethodHead || c.Get(headKey) == true
}
