package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// openAPIYAML is the contract as written; it is served as JSON.
//
//go:embed openapi.yaml
var openAPIYAML []byte

var (
	openAPIOnce sync.Once
	openAPIDoc  *openapi3.T
	openAPIJSON []byte
	openAPIErr  error
)

// OpenAPI returns the parsed and validated OpenAPI document.
func OpenAPI() (*openapi3.T, []byte, error) {
	openAPIOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(openAPIYAML)
		if err != nil {
			openAPIErr = fmt.Errorf("load openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			openAPIErr = fmt.Errorf("validate openapi.yaml: %w", err)
			return
		}
		openAPIDoc = doc
		openAPIJSON, openAPIErr = json.Marshal(doc)
	})
	return openAPIDoc, openAPIJSON, openAPIErr
}

// GET /api/v1/openapi.json
func (h *handler) openAPI(c echo.Context) error {
	_, doc, err := OpenAPI()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc)
}
