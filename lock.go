package main

import (
	"fmt"
	"path/filepath"

	"github.com/gofrs/flock"
)

// lockDataDir takes an exclusive lock on the data dir: two processes writing
// one SQLite file through two write queues would serialize on the file lock
// and answer "database is locked" instead of batching. gofrs/flock takes
// flock(2) on Unix and LockFileEx on Windows; the kernel drops the lock when
// the process ends, so a crash leaves nothing to clean up.
func lockDataDir(dir string) (func(), error) {
	lock := flock.New(filepath.Join(dir, "parley.lock"), flock.SetPermissions(0o600))
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if !locked {
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		return nil, fmt.Errorf("another Parley process is using the data directory %s; stop it first or set PARLEY_DATA_DIR", dir)
	}
	return func() { lock.Unlock() }, nil
}
