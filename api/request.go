package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/models"
)

// decodeJSON reads a JSON request body into v. Unknown fields are ignored
// (the API contract); malformed JSON and wrong types are a 400 that says where.
func decodeJSON(c echo.Context, v any) error {
	// The Content-Type is not checked: a JSON body is expected on every
	// route that takes one, and anything else fails to parse with a 400.
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		if tooLarge(err) {
			return errTooLarge
		}
		return badRequest("could not read the request body", nil)
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD; refuse it
	// instead, so what is stored is what the client meant.
	if !utf8.Valid(raw) {
		return badRequest("request body is not valid UTF-8", nil)
	}
	if err := checkKeys(raw, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return badRequest("request body is empty; send a JSON object", nil)
		case errors.As(err, &typ):
			field := typ.Field
			if field == "" {
				return badRequest("request body must be a JSON object", nil)
			}
			return badRequest(fmt.Sprintf("%s must be %s", field, jsonKind(typ.Type.Kind().String())), map[string]string{field: "wrong type"})
		case errors.As(err, &syntax):
			return badRequest(fmt.Sprintf("malformed JSON at byte %d", syntax.Offset), nil)
		case tooLarge(err):
			return errTooLarge
		}
		return badRequest("malformed JSON: "+err.Error(), nil)
	}
	if dec.More() {
		return badRequest("request body must hold one JSON object", nil)
	}
	return nil
}

// tooLarge reports whether reading the body failed on its size limit: Echo's
// BodyLimit answers a chunked body that grows past it with its 413 error,
// net/http's MaxBytesReader with *http.MaxBytesError.
func tooLarge(err error) bool {
	var ee *echo.HTTPError
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe) || errors.As(err, &ee) && ee.Code == http.StatusRequestEntityTooLarge
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a number"
}

// pathID parses a numeric path parameter written canonically; anything
// else is a 404, as no such resource can exist. "01" and "%31" are refused
// rather than read as 1, so one resource has one URL (caches, logs, and
// rate limits keyed on paths all see the same id). No route with an id has
// a segment that needs escaping, so any escape in the path is refused.
func pathID(c echo.Context, name string) (uint, error) {
	raw := c.Param(name)
	n, err := strconv.ParseUint(raw, 10, 32)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != raw || strings.Contains(c.Request().URL.EscapedPath(), "%") {
		return 0, models.ErrNotFound
	}
	return uint(n), nil
}

// pageLimit reads ?limit= (default 50, 1..200).
func pageLimit(c echo.Context) (int, error) {
	s := c.QueryParam("limit")
	if s == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 200 {
		return 0, badRequest("limit must be a whole number from 1 to 200", map[string]string{"limit": "1 to 200"})
	}
	return n, nil
}

// checkKeys refuses JSON whose objects repeat a key, exactly or in another
// case, and top-level keys that name one of v's fields in another case.
// encoding/json matches keys case-insensitively and lets the last duplicate
// win, so {"body":"a","BODY":"b"} would store "b" while a filter or log
// that reads the first key saw "a". Syntax errors are left to the decoder,
// which explains them better.
func checkKeys(raw []byte, v any) error {
	fields := jsonFields(reflect.TypeOf(v))
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or a syntax error the decoder reports
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:top]
				if top > 0 && stack[top-1].keys != nil {
					stack[top-1].wantKey = true
				}
				continue
			}
			key, _ := tok.(string)
			folded := foldKey(key)
			if stack[top].keys[folded] {
				return badRequest(fmt.Sprintf("the key %q appears twice in one JSON object (keys are compared ignoring case)", key), map[string]string{key: "duplicate"})
			}
			if exact, ok := fields[folded]; top == 0 && ok && exact != key {
				return badRequest(fmt.Sprintf("the key %q must be written %q", key, exact), map[string]string{key: "unknown; keys are case-sensitive"})
			}
			stack[top].keys[folded] = true
			stack[top].wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim(']'), json.Delim('}'):
			stack = stack[:top]
			top--
		}
		if top >= 0 && stack[top].keys != nil {
			stack[top].wantKey = true
		}
	}
}

// foldKey folds a key as encoding/json compares it, including the Kelvin
// sign and long s that fold onto ASCII letters.
func foldKey(k string) string { return strings.ToLower(strings.ToUpper(k)) }

// jsonFieldCache holds, per request type, its JSON keys by folded name.
var jsonFieldCache sync.Map // reflect.Type → map[string]string

// jsonFields returns the JSON keys of a struct type (or pointer to one) by
// their folded form.
func jsonFields(t reflect.Type) map[string]string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	if m, ok := jsonFieldCache.Load(t); ok {
		return m.(map[string]string)
	}
	m := map[string]string{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "":
			maps.Copy(m, jsonFields(f.Type))
			continue
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		m[foldKey(name)] = name
	}
	jsonFieldCache.Store(t, m)
	return m
}
