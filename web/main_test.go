package web_test

import (
	"os"
	"testing"

	"github.com/parley-comments/parley/models/dbtest"
)

// TestMain fails the run when a server or browser goroutine outlives the tests.
func TestMain(m *testing.M) { os.Exit(dbtest.NoLeaks(m.Run())) }
