//go:build !cgo

package models

import (
	"errors"
	"time"

	"gorm.io/gorm"
)

// ErrNoSQLite is Open's answer without a PostgreSQL URL in a build without
// cgo: the SQLite driver is C code.
var ErrNoSQLite = errors.New("this build of Parley has no SQLite (built with CGO_ENABLED=0); set PARLEY_DATABASE_URL to a postgres:// URL")

func openSQLite(string, int64, time.Duration, *gorm.Config) (*Store, error) { return nil, ErrNoSQLite }

func sqliteCondition(error) error { return nil }
