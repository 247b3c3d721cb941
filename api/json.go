package api

import (
	"bytes"
	"encoding/json"

	"github.com/labstack/echo/v4"
)

// jsonSerializer is Echo's JSON encoder without HTML escaping. encoding/json
// escapes <, > and & as \u003c (six bytes for one) for JSON pasted into HTML;
// ours is served as application/json with nosniff, and body_html is full of
// those characters, so escaping would only make every page larger.
type jsonSerializer struct{}

// Serialize writes v as JSON, as Echo's default serializer does but unescaped.
func (jsonSerializer) Serialize(c echo.Context, v any, indent string) error {
	enc := json.NewEncoder(c.Response())
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(v)
}

// Deserialize is Echo's default; handlers decode with decodeJSON instead.
func (jsonSerializer) Deserialize(c echo.Context, v any) error {
	return echo.DefaultJSONSerializer{}.Deserialize(c, v)
}

// encodeJSON returns v as the bytes jsonSerializer would write, into a
// buffer of sizeHint bytes so that a large page is not copied as it grows.
func encodeJSON(v any, sizeHint int) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, sizeHint))
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
