package api_test

import (
	"testing"

	"github.com/parley-comments/parley/api"
)

func TestOpenAPIDocumentIsValid(t *testing.T) {
	if _, _, err := api.OpenAPI(); err != nil {
		t.Fatal(err)
	}
}
