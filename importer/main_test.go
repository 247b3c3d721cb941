package importer

import (
	"os"
	"testing"

	"github.com/parley-comments/parley/models/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
