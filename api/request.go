package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
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

// pathID parses a numeric path parameter; anything else is a 404, as no
// such resource can exist.
func pathID(c echo.Context, name string) (uint, error) {
	n, err := strconv.ParseUint(c.Param(name), 10, 32)
	if err != nil || n == 0 {
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
